import { afterEach, describe, expect, it } from "vitest";
import { Agent, callable } from "../../src/index.ts";
import type { ObservabilityEvent } from "../../src/events/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { collect, type Collected } from "./collect.ts";

const emitted: ObservabilityEvent[] = [];

class Counter extends Agent<unknown, { count: number }> {
  initialState = { count: 0 };
  @callable() increment(by: number) {
    this.setState({ count: this.state.count + by });
    return this.state.count;
  }
  @callable() fail() {
    throw new Error("nope");
  }
  hidden() {
    return 1;
  }
  bump() {
    this.setState({ count: this.state.count + 1 });
  }
  wipe() {
    return this.destroy();
  }
}

/** An agent that keeps its events to itself, as the SDK allows. */
class Logged extends Agent<unknown, { n: number }> {
  observability = { emit: (event: ObservabilityEvent) => void emitted.push(event) };
  set(n: number) {
    this.setState({ n });
  }
}

/** An agent that emits nothing. */
class Silent extends Agent<unknown, { n: number }> {
  observability = undefined;
  set(n: number) {
    this.setState({ n });
  }
}

let t: TestEnv | undefined;
let seen: Collected | undefined;
afterEach(async () => {
  seen?.stop();
  seen = undefined;
  await t?.close();
  t = undefined;
  emitted.length = 0;
});

async function env(): Promise<{ t: TestEnv; seen: Collected }> {
  t = await createTestEnv({ agents: { Counter, Logged, Silent }, start: Date.UTC(2031, 0, 1) });
  seen = collect();
  return { t, seen };
}

describe("agent events", () => {
  it("connect, rpc, state:update, rpc:error and disconnect, in order, with the SDK's payloads", async () => {
    const { t, seen } = await env();
    const client = await t.connect("Counter", "c1");
    await client.call("increment", [2]);
    await expect(client.call("fail", [])).rejects.toThrow("nope");
    await expect(client.call("hidden", [])).rejects.toThrow(/not callable/);
    await expect(client.call("missing", [])).rejects.toThrow(/does not exist/);
    const connectionId = (seen.events.find((event) => event.type === "connect")!.payload as { connectionId: string }).connectionId;
    client.close();
    await expect.poll(() => seen.of("c1").length).toBe(8);
    expect(seen.of("c1")).toEqual([
      ["state:update", {}], // initialState stored at the connect's first read, as in the SDK
      ["connect", { connectionId }],
      ["state:update", {}],
      ["rpc", { method: "increment", streaming: undefined }],
      ["rpc:error", { method: "fail", error: "nope" }],
      ["rpc:error", { method: "hidden", error: "Method hidden is not callable" }],
      ["rpc:error", { method: "missing", error: "Method missing does not exist" }],
      ["disconnect", { connectionId, code: 1000, reason: "" }],
    ]);
    const first = seen.events.find((event) => event.name === "c1" && event.type === "connect")!;
    expect(first).toEqual({
      type: "connect",
      agent: "Counter",
      name: "c1",
      payload: { connectionId },
      timestamp: Date.UTC(2031, 0, 1),
      channel: "lifecycle",
    });
    expect(seen.events.filter((event) => event.name === "c1").map((event) => event.channel)).toEqual([
      "state",
      "lifecycle",
      "state",
      "rpc",
      "rpc",
      "rpc",
      "rpc",
      "lifecycle",
    ]);
  });

  it("state:update for a server-side change, no rpc event for a stub call, destroy when destroyed", async () => {
    const { t, seen } = await env();
    const counter = t.get<Counter>("Counter", "c2");
    await counter.bump();
    await counter.wipe();
    expect(seen.of("c2")).toEqual([
      ["state:update", {}], // initialState, stored at the first read
      ["state:update", {}],
      ["destroy", {}],
    ]);
  });

  it("an agent's own observability receives its events; undefined emits none", async () => {
    const { t, seen } = await env();
    await t.get<Logged>("Logged", "l1").set(1);
    await t.get<Silent>("Silent", "s1").set(1);
    expect(emitted).toEqual([{ type: "state:update", agent: "Logged", name: "l1", payload: {}, timestamp: Date.UTC(2031, 0, 1) }]);
    expect(seen.of("l1")).toEqual([]); // the override replaced the channels
    expect(seen.of("s1")).toEqual([]);
  });
});
