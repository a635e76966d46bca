/**
 * How `AgentClient` settles and delivers RPC calls, against a real Hearth server on loopback: a
 * stream callback that throws does not keep its call (or the other calls) from settling, a call
 * that failed locally (timed out, or rejected by `close()`) never reaches the agent afterwards, and
 * every callable, whatever its name, is reachable through `stub`.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { Agent, Host, serve, type HearthServer, type StreamingResponse } from "../../src/index.ts";
import { AgentClient } from "../../src/client/index.ts";
import type { AgentClientOptions } from "../../src/client/index.ts";
import { uniqueName } from "./helpers.ts";

let releaseForever: () => void = () => {};
const forever = new Promise<void>((resolve) => {
  releaseForever = resolve;
});

/** An account: `pay` changes it, so a call that reached the agent shows in `paid`. */
class Ledger extends Agent<unknown, { paid: number }> {
  static callables = {
    pay: {},
    paid: {},
    inspect: {},
    finish: { streaming: true },
    breakOff: { streaming: true },
    hold: { streaming: true },
  };
  override initialState = { paid: 0 };

  pay(amount: number): number {
    this.setState({ paid: this.state.paid + amount });
    return this.state.paid;
  }

  paid(): number {
    return this.state.paid;
  }

  /** A name that loggers and runtimes also probe on objects. */
  inspect(what: string): string {
    return `inspected ${what}`;
  }

  finish(stream: StreamingResponse): void {
    stream.send(1);
    stream.end("final");
  }

  breakOff(stream: StreamingResponse): void {
    stream.error("broke off");
  }

  /** Streams one chunk, then waits until the suite ends. */
  async hold(stream: StreamingResponse): Promise<void> {
    stream.send("started");
    await forever;
    stream.end("released");
  }
}

let tmp: string;
let host: Host;
let server: HearthServer;
const open: Array<{ close(): void }> = [];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hearth-client-calls-"));
  host = new Host({ dataDir: tmp, agents: { Ledger } });
  server = await serve({ host, port: 0 });
});
afterEach(() => {
  for (const client of open.splice(0)) client.close();
  vi.restoreAllMocks();
});
afterAll(async () => {
  releaseForever();
  await server.close();
  await host.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function connect(options: Omit<AgentClientOptions, "host" | "agent"> = {}) {
  const client = new AgentClient({ host: server.url, agent: "Ledger", name: uniqueName("ledger"), ...options });
  open.push(client);
  return client;
}

/** Silences and records what the client reports with console.error. */
function captureErrors(): unknown[][] {
  const reported: unknown[][] = [];
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void reported.push(args));
  return reported;
}

describe("stream callbacks that throw", () => {
  test("a throwing onDone still resolves its call, and the error is reported", async () => {
    const reported = captureErrors();
    const bug = new Error("bug in onDone");
    const client = connect();
    const result = await client.call("finish", [], {
      stream: {
        onDone: () => {
          throw bug;
        },
      },
    });
    expect(result).toBe("final");
    expect(reported.flat()).toContain(bug);
  });

  test("a throwing onError still rejects its call with the agent's message", async () => {
    const reported = captureErrors();
    const bug = new Error("bug in onError");
    const client = connect();
    const call = client.call("breakOff", [], {
      onError: () => {
        throw bug;
      },
    });
    await expect(call).rejects.toThrow("broke off");
    expect(reported.flat()).toContain(bug);
  });

  test("a throwing onError still rejects a call that timed out", async () => {
    const reported = captureErrors();
    const bug = new Error("bug in onError");
    const client = connect({ startClosed: true });
    const call = client.call("paid", [], {
      stream: {
        onError: () => {
          throw bug;
        },
      },
      timeout: 10,
    });
    await expect(call).rejects.toThrow("RPC call to paid timed out after 10ms");
    expect(reported.flat()).toContain(bug);
  });

  test("close() rejects every call and closes the socket though one onError throws", async () => {
    const reported = captureErrors();
    const bug = new Error("bug in onError");
    const client = connect();
    const started: string[] = [];
    const first = client.call("hold", [], {
      onChunk: (chunk) => started.push(String(chunk)),
      onError: () => {
        throw bug;
      },
    });
    const errors: string[] = [];
    const second = client.call("hold", [], {
      onChunk: (chunk) => started.push(String(chunk)),
      onError: (message) => errors.push(message),
    });
    await vi.waitUntil(() => started.length === 2);
    expect(() => client.close()).not.toThrow();
    await expect(first).rejects.toThrow("Connection closed");
    await expect(second).rejects.toThrow("Connection closed");
    expect(errors).toEqual(["Connection closed"]);
    expect(reported.flat()).toContain(bug);
    expect(client.readyState === client.CLOSING || client.readyState === client.CLOSED).toBe(true);
  });
});

describe("calls made while disconnected", () => {
  test("a call that timed out before the connection opened never reaches the agent", async () => {
    const client = connect({ startClosed: true });
    await expect(client.call("pay", [100], { timeout: 10 })).rejects.toThrow("timed out");
    const delivered = client.call<number>("pay", [1]);
    client.reconnect();
    expect(await delivered).toBe(1);
    expect(await client.call("paid")).toBe(1);
  });

  test("a call rejected by close() is not sent when the client connects again", async () => {
    const client = connect({ startClosed: true });
    const dropped = client.call("pay", [100]);
    client.close();
    await expect(dropped).rejects.toThrow("Connection closed");
    client.reconnect();
    await client.ready;
    expect(await client.call("paid")).toBe(0);
  });

  test("calls made before the connection opened are sent once it does, in order", async () => {
    const client = connect({ startClosed: true });
    const first = client.call<number>("pay", [2]);
    const second = client.call<number>("pay", [3]);
    client.reconnect();
    expect(await Promise.all([first, second])).toEqual([2, 5]);
  });

  test("setState and send made meanwhile keep their place among the calls, as in the Agents SDK", async () => {
    const client = connect({ startClosed: true });
    const first = client.call<number>("pay", [2]);
    client.setState({ paid: 100 });
    const second = client.call<number>("paid");
    client.send(JSON.stringify({ type: "cf_agent_state", state: { paid: 200 } }));
    const dropped = client.call<number>("pay", [1000], { timeout: 1 });
    const third = client.call<number>("pay", [1]);
    await expect(dropped).rejects.toThrow("timed out");
    client.reconnect();
    // pay(2), then the state 100, paid(), the state 200, and pay(1): the timed-out call is never sent.
    // (PartySocket's own buffer would send both frames first, before the open event sends the calls.)
    expect(await Promise.all([first, second, third])).toEqual([2, 100, 201]);
  });

  test("frames waiting for the socket count in bufferedAmount and come out of drainQueuedMessages", async () => {
    const client = connect({ startClosed: true });
    const frame = JSON.stringify({ type: "cf_agent_state", state: { paid: 5 } });
    const call = client.call<number>("paid");
    expect(client.send(frame)).toBe(false);
    expect(client.bufferedAmount).toBe(frame.length);
    expect(client.drainQueuedMessages()).toEqual([frame]);
    expect(client.bufferedAmount).toBe(0);
    // The call still waits, and the drained frame is not sent.
    client.reconnect();
    expect(await call).toBe(0);
    expect(await client.call("paid")).toBe(0);
  });

  test("bufferedAmount counts each held frame, text or binary, and not the calls waiting among them", async () => {
    const client = connect({ startClosed: true });
    const text = JSON.stringify({ type: "cf_agent_state", state: { paid: 7 } });
    const buffer = new ArrayBuffer(7);
    const view = new Uint8Array(new ArrayBuffer(16), 4, 5);
    const blob = new Blob(["abc€"]);
    const first = client.call<number>("pay", [1]);
    client.send(text);
    const dropped = client.call<number>("pay", [1000], { timeout: 1 });
    client.send(buffer);
    const second = client.call<number>("paid");
    client.send(view);
    client.send(blob);
    await expect(dropped).rejects.toThrow("timed out");
    expect(client.bufferedAmount).toBe(text.length + 7 + 5 + 6);
    expect(client.drainQueuedMessages()).toEqual([text, buffer, view, blob]);
    expect(client.bufferedAmount).toBe(0);
    const state = JSON.stringify({ type: "cf_agent_state", state: { paid: 50 } });
    client.send(state);
    expect(client.bufferedAmount).toBe(state.length);
    const third = client.call<number>("paid");
    client.reconnect();
    // The drained frames are not sent; the calls and the frame held after the drain go out in order.
    expect(await Promise.all([first, second, third])).toEqual([1, 1, 50]);
    expect(client.bufferedAmount).toBe(0);
  });

  test("maxEnqueuedMessages caps the held frames only: calls waiting among them are never dropped", async () => {
    const client = connect({ startClosed: true, maxEnqueuedMessages: 2 });
    const state = (paid: number) => JSON.stringify({ type: "cf_agent_state", state: { paid } });
    const first = client.call<number>("pay", [2]);
    expect(client.send(state(100))).toBe(false);
    const second = client.call<number>("paid");
    expect(client.send(state(200))).toBe(false);
    expect(client.send(state(300))).toBe(false);
    const third = client.call<number>("paid");
    expect(client.bufferedAmount).toBe(state(100).length + state(200).length);
    client.reconnect();
    // The third frame, over the cap, was dropped.
    expect(await Promise.all([first, second, third])).toEqual([2, 100, 200]);
  });

  test("frames drained from the outbox no longer count against maxEnqueuedMessages", async () => {
    const client = connect({ startClosed: true, maxEnqueuedMessages: 1 });
    const state = (paid: number) => JSON.stringify({ type: "cf_agent_state", state: { paid } });
    client.send(state(100));
    client.send(state(200));
    expect(client.drainQueuedMessages()).toEqual([state(100)]);
    client.send(state(300));
    expect(client.bufferedAmount).toBe(state(300).length);
    const paid = client.call<number>("paid");
    client.reconnect();
    expect(await paid).toBe(300);
  });
});

describe("arguments JSON cannot encode", () => {
  test("call() and the stub return a rejected promise rather than throw", async () => {
    const client = connect();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    let viaCall: Promise<unknown> | undefined;
    let viaStub: Promise<unknown> | undefined;
    // A click handler `onClick={client.stub.pay}` passes a circular event object.
    expect(() => {
      viaCall = client.call("pay", [cyclic]);
      viaStub = (client.stub as Record<string, (...args: unknown[]) => Promise<unknown>>).pay!(cyclic);
    }).not.toThrow();
    await expect(viaCall).rejects.toThrow(/circular/i);
    await expect(viaStub).rejects.toThrow(/circular/i);
    await expect(client.call("pay", [10n])).rejects.toThrow(TypeError);
    expect(await client.call("paid")).toBe(0);
  });
});

describe("stub", () => {
  test('reaches a callable named "inspect"', async () => {
    const client = connect();
    const stub = client.stub as Record<string, (what: string) => Promise<string>>;
    expect(await stub.inspect!("x")).toBe("inspected x");
  });

  test("is still neither thenable nor a React element", () => {
    const client = connect({ startClosed: true });
    const stub = client.stub as Record<string, unknown>;
    expect([stub.then, stub.$$typeof, stub.toJSON]).toEqual([undefined, undefined, undefined]);
  });
});
