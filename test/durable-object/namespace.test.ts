/**
 * Namespaces, ids and stubs: ids from names stable across restarts, ids of another class refused,
 * unique ids that persist, names known or not, RPC that clones and refuses what is not callable,
 * `ctx.exports` and `jurisdiction()`.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DurableObject, DurableObjectId, Host, type DurableObjectNamespace } from "../../src/index.ts";
import { tempDir } from "../support/harness.ts";

class Counter extends DurableObject<Env> {
  count = 0;
  #remembered: unknown;

  increment(by = 1): number {
    const value = (this.ctx.storage.kv.get<number>("value") ?? 0) + by;
    this.ctx.storage.kv.put("value", value);
    return value;
  }

  value(): number {
    return this.ctx.storage.kv.get<number>("value") ?? 0;
  }

  identity(): { id: string; name: string | null; hasName: boolean } {
    return { id: this.ctx.id.toString(), name: this.ctx.id.name ?? null, hasName: "name" in this.ctx.id && this.ctx.id.name !== undefined };
  }

  remember(value: unknown): void {
    (value as { seenBy?: string }).seenBy = "counter"; // changes the object's copy only
    this.#remembered = value;
  }

  recall(): unknown {
    return this.#remembered;
  }

  /** Calls another object through `ctx.exports`, as a worker would through `env`. */
  async bumpOther(name: string): Promise<number> {
    const exports = this.ctx.exports as { COUNTERS: DurableObjectNamespace<Counter> };
    return exports.COUNTERS.getByName(name).increment(10);
  }

  exportNames(): string[] {
    return Object.keys(this.ctx.exports).sort();
  }

  fail(): never {
    throw new RangeError("counted too far");
  }

  alarm(): void {}

  webSocketMessage(): void {}
}

class Other extends DurableObject {
  sawAbort = false;

  ping(): string {
    return "pong";
  }

  /** Answers only once its request is aborted (then, for nobody). */
  async fetch(request: Request): Promise<Response> {
    await new Promise((resolve) => request.signal.addEventListener("abort", resolve, { once: true }));
    this.sawAbort = true;
    return new Response("too late");
  }

  aborted(): boolean {
    return this.sawAbort;
  }
}

interface Env {
  COUNTERS: DurableObjectNamespace<Counter>;
  OTHERS: DurableObjectNamespace<Other>;
}

const dirs: Array<{ remove(): void }> = [];
const hosts: Host[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.close();
  for (const dir of dirs.splice(0)) dir.remove();
});

function hostOn(dataDir?: string): { host: Host; env: Env; dataDir: string } {
  if (dataDir === undefined) {
    const dir = tempDir();
    dirs.push(dir);
    dataDir = dir.path;
  }
  const host = new Host({ dataDir, agents: {}, durableObjects: { COUNTERS: Counter, OTHERS: Other } });
  hosts.push(host);
  return { host, env: host.env as unknown as Env, dataDir };
}

async function restart(previous: { host: Host; dataDir: string }): Promise<{ host: Host; env: Env; dataDir: string }> {
  await previous.host.close();
  return hostOn(previous.dataDir);
}

describe("ids", () => {
  it("idFromName gives the same id in a new process on the same data, with the object's data", async () => {
    const first = hostOn();
    const id = first.env.COUNTERS.idFromName("visits").toString();
    expect(await first.env.COUNTERS.getByName("visits").increment()).toBe(1);
    const second = await restart(first);
    expect(second.env.COUNTERS.idFromName("visits").toString()).toBe(id);
    expect(await second.env.COUNTERS.getByName("visits").increment()).toBe(2);
    expect(await second.env.COUNTERS.get(second.env.COUNTERS.idFromString(id)).identity()).toEqual({ id, name: "visits", hasName: true });
  });

  it("ids of one name differ between classes; idFromString refuses another class's id and malformed strings", () => {
    const { env } = hostOn();
    const counter = env.COUNTERS.idFromName("same");
    const other = env.OTHERS.idFromName("same");
    expect(counter.equals(other)).toBe(false);
    expect(() => env.COUNTERS.idFromString(other.toString())).toThrow(
      new TypeError("Invalid Durable Object ID. The ID does not match this Durable Object class."),
    );
    expect(() => env.COUNTERS.get(other)).toThrow("does not match this Durable Object class");
    for (const bad of ["", "xyz", `${counter.toString()}0`, `${counter.toString().slice(1)}g`]) {
      expect(() => env.COUNTERS.idFromString(bad)).toThrow(new TypeError("Invalid Durable Object ID: must be a string of 64 hex digits."));
    }
    expect(env.COUNTERS.idFromString(counter.toString()).equals(counter)).toBe(true);
    // workerd decodes hex in either case and gives the id back in lower case: the same object.
    const upper = env.COUNTERS.idFromString(counter.toString().toUpperCase());
    expect(upper.equals(counter)).toBe(true);
    expect(upper.toString()).toBe(counter.toString());
    expect(() => env.COUNTERS.idFromString(other.toString().toUpperCase())).toThrow("does not match this Durable Object class");
    expect(JSON.stringify({ id: counter })).toBe(`{"id":"${counter.toString()}"}`);
  });

  it("newUniqueId objects persist across restarts and have no name", async () => {
    const first = hostOn();
    const id = first.env.COUNTERS.newUniqueId();
    expect(id.name).toBeUndefined();
    expect(first.env.COUNTERS.newUniqueId().equals(id)).toBe(false);
    await first.env.COUNTERS.get(id).increment(5);
    expect(await first.env.COUNTERS.get(id).identity()).toEqual({ id: id.toString(), name: null, hasName: false });
    const second = await restart(first);
    const again = second.env.COUNTERS.idFromString(id.toString());
    expect(await second.env.COUNTERS.get(again).value()).toBe(5);
    expect(await second.env.COUNTERS.get(again).identity()).toMatchObject({ name: null });
  });

  it("names are any well-formed string up to 4 KiB; others are refused with the limit named", () => {
    const { env } = hostOn();
    for (const name of ["", "../../etc/passwd", "a/b c", "ümlaut 🎉", "x".repeat(4096)]) {
      expect(env.COUNTERS.idFromName(name).name).toBe(name);
    }
    expect(() => env.COUNTERS.idFromName("x".repeat(4097))).toThrow(
      new RangeError("idFromName(): the name is 4097 bytes of UTF-8; the limit is 4096 (maxNameBytes)"),
    );
    expect(() => env.COUNTERS.idFromName("\ud800")).toThrow(TypeError);
    expect(() => env.COUNTERS.idFromName(42 as unknown as string)).toThrow(new TypeError("idFromName() takes a string, got number"));
    expect(() => env.COUNTERS.get("abc" as unknown as DurableObjectId)).toThrow(TypeError);
  });

  it("jurisdiction() gives a namespace with the same ids (one host keeps all data in one place)", async () => {
    const { env } = hostOn();
    const eu = env.COUNTERS.jurisdiction("eu");
    expect(eu.idFromName("x").equals(env.COUNTERS.idFromName("x"))).toBe(true);
    await eu.getByName("x").increment();
    expect(await env.COUNTERS.getByName("x").value()).toBe(1);
    expect(env.COUNTERS.newUniqueId({ jurisdiction: "eu" })).toBeInstanceOf(DurableObjectId);
  });
});

describe("stubs", () => {
  it("carry the id and the name they were made from", () => {
    const { env } = hostOn();
    const byName = env.COUNTERS.getByName("lobby");
    expect(byName.name).toBe("lobby");
    expect(byName.id.equals(env.COUNTERS.idFromName("lobby"))).toBe(true);
    expect(env.COUNTERS.get(env.COUNTERS.idFromName("lobby")).name).toBe("lobby");
    expect(env.COUNTERS.get(env.COUNTERS.idFromString(byName.id.toString())).name).toBeUndefined();
    expect(env.COUNTERS.get(env.COUNTERS.newUniqueId()).name).toBeUndefined();
  });

  it("are not thenable: awaiting a stub gives the stub; `using` disposes of it", async () => {
    const { env } = hostOn();
    const stub = env.COUNTERS.getByName("awaited");
    expect(await stub).toBe(stub);
    expect(() => (stub as unknown as Disposable)[Symbol.dispose]()).not.toThrow();
  });

  it("refuse unknown methods, lifecycle handlers and what every object inherits, with Cloudflare's text", async () => {
    const { env } = hostOn();
    const stub = env.COUNTERS.getByName("rpc") as unknown as Record<string, () => Promise<unknown>>;
    for (const method of ["nope", "alarm", "webSocketMessage", "webSocketClose", "constructor", "toString", "hasOwnProperty", "count", "ctx", "env"]) {
      const refused = Object.assign(new TypeError(`The RPC receiver does not implement the method "${method}".`), { remote: true });
      await expect(stub[method]!(), method).rejects.toThrow(refused);
    }
    expect(await env.COUNTERS.getByName("rpc").increment()).toBe(1);
  });

  it("reject a fetch with an AbortError when its signal aborts, at once for one aborted already; the object sees the abort", async () => {
    const { env } = hostOn();
    const stub = env.OTHERS.getByName("slow");
    const already = await stub.fetch("http://do/", { signal: AbortSignal.abort() }).catch((error: unknown) => error);
    expect((already as DOMException).name).toBe("AbortError");
    expect(await stub.aborted()).toBe(false); // never delivered

    const controller = new AbortController();
    const pending = stub.fetch("http://do/", { signal: controller.signal }).catch((error: unknown) => error);
    await stub.ping(); // the fetch is under way
    controller.abort();
    const error = await pending;
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe("AbortError");
    expect(await stub.aborted()).toBe(true);
  });

  it("pass errors thrown by a method to the caller, as a copy marked remote (remote-errors.test.ts)", async () => {
    const { env } = hostOn();
    await expect(env.COUNTERS.getByName("errors").fail()).rejects.toThrow(Object.assign(new RangeError("counted too far"), { remote: true }));
  });

  it("clone arguments and results, as across the network", async () => {
    const { env } = hostOn();
    const stub = env.COUNTERS.getByName("clones");
    const sent = { items: [1, 2], when: new Date(0), tags: new Map([["a", 1]]) };
    await stub.remember(sent);
    expect(sent).not.toHaveProperty("seenBy");
    sent.items.push(3);
    const back = (await stub.recall()) as typeof sent & { seenBy: string };
    expect(back).toEqual({ items: [1, 2], when: new Date(0), tags: new Map([["a", 1]]), seenBy: "counter" });
    back.items.push(99);
    expect(((await stub.recall()) as typeof sent).items).toEqual([1, 2]);
    await expect(stub.remember({ fn: () => 1 })).rejects.toThrow(/could not be cloned/);
  });
});

describe("ctx.exports", () => {
  it("holds the worker's Durable Object namespaces, for calls from one object to another", async () => {
    const { env } = hostOn();
    expect(await env.COUNTERS.getByName("caller").exportNames()).toEqual(["COUNTERS", "OTHERS"]);
    expect(await env.COUNTERS.getByName("caller").bumpOther("callee")).toBe(10);
    expect(await env.COUNTERS.getByName("callee").value()).toBe(10);
    expect(await env.OTHERS.getByName("o").ping()).toBe("pong");
  });
});
