import { afterEach, describe, expect, it } from "vitest";
import { Agent, callable, getAgentByName, getCurrentAgent, type Connection, type ConnectionContext } from "../../src/index.ts";
import type { AgentNamespace } from "../../src/host/namespace.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";

type Env = { Worker: AgentNamespace<Worker>; Boss: AgentNamespace<Boss>; Builder: AgentNamespace<Builder> };

/** A helper outside any class: it finds the agent through the context alone. */
async function describeContext(label: string) {
  await new Promise((resolve) => setTimeout(resolve, 1)); // across a timer
  await Promise.resolve();
  const { agent, connection, request, caller } = getCurrentAgent<Agent>();
  return {
    label,
    agent: agent?.name ?? null,
    connection: connection?.id ?? null,
    request: request ? new URL(request.url).pathname : null,
    caller: caller ?? null,
  };
}

class Worker extends Agent<Env> {
  seen: unknown[] = [];
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS seen (json TEXT)`;
  }
  async onRequest(request: Request) {
    return Response.json(await describeContext(`request ${new URL(request.url).pathname}`));
  }
  async onConnect(connection: Connection, _ctx: ConnectionContext) {
    connection.send(JSON.stringify({ type: "ctx", ...(await describeContext("connect")) }));
  }
  @callable() async inCallable() {
    return describeContext("callable");
  }
  @callable() plain() {
    return 1;
  }
  @callable({ description: "streams" }) other() {
    return 2;
  }
  async fromStub() {
    return describeContext("stub");
  }
  /** Work under blockConcurrencyWhile: the gate opens for it once this event has waited a turn. */
  async underBlock() {
    return this.ctx.blockConcurrencyWhile(() => describeContext("block"));
  }
  /** A stub call made from under blockConcurrencyWhile. */
  async delegateUnderBlock() {
    return this.ctx.blockConcurrencyWhile(async () => (await getAgentByName(this.env.Worker, "w9")).fromStub());
  }
  async scheduleIt() {
    await this.schedule(1, "fire");
  }
  async fire() {
    this.sql`INSERT INTO seen VALUES (${JSON.stringify(await describeContext("schedule"))})`;
  }
  fired() {
    return this.sql<{ json: string }>`SELECT json FROM seen`.map((row) => JSON.parse(row.json) as unknown);
  }
  callables() {
    return [...this.getCallableMethods()].map(([name, options]) => [name, options.description ?? null]);
  }
}

class Boss extends Agent<Env> {
  async delegate() {
    const worker = await getAgentByName(this.env.Worker, "w1");
    return worker.fromStub();
  }
  /** Wakes a Builder with a stub call: the Builder is constructed inside this agent's event. */
  async wakeBuilder() {
    return (await getAgentByName(this.env.Builder, "b")).built();
  }
}

/** Records, under blockConcurrencyWhile in its constructor, what that work saw of the context. */
class Builder extends Agent<Env> {
  #built: Promise<unknown>;
  constructor(ctx: ConstructorParameters<typeof Agent<Env>>[0], env: Env) {
    super(ctx, env);
    this.#built = ctx.blockConcurrencyWhile(() => describeContext("built"));
  }
  async built() {
    return this.#built;
  }
  async childBuilt() {
    return (await this.subAgent(Builder, "b")).built();
  }
}

class Raw extends Agent {
  shouldSendProtocolMessages(_connection: Connection, ctx: ConnectionContext) {
    return new URL(ctx.request.url).searchParams.get("raw") !== "1";
  }
  onConnect(connection: Connection) {
    connection.send(`protocol:${this.isConnectionProtocolEnabled(connection)}`);
  }
}

let harness: Harness | undefined;
let t: TestEnv | undefined;
afterEach(async () => {
  await harness?.close();
  await t?.close();
  harness = undefined;
  t = undefined;
});

describe("getCurrentAgent()", () => {
  it("knows the agent, request and connection of the running event, across awaits and in outside helpers", async () => {
    harness = await startHarness({ Worker, Boss });
    expect(await (await fetch(`${harness.url}/agents/worker/w1/hello`)).json()).toEqual({
      label: "request /agents/worker/w1/hello",
      agent: "w1",
      connection: null,
      request: "/agents/worker/w1/hello",
      caller: null,
    });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/worker/w1?_pk=conn-1`);
    expect(await socket.waitForType("ctx")).toMatchObject({ label: "connect", agent: "w1", connection: "conn-1", request: "/agents/worker/w1" });
    expect((await socket.call("inCallable")).result).toEqual({ label: "callable", agent: "w1", connection: "conn-1", request: null, caller: null });
    socket.close();
  });

  it("tells a called agent who called it through a stub: another agent, or code outside any agent", async () => {
    harness = await startHarness({ Worker, Boss });
    const env = harness.host.env as Env;
    expect(await env.Boss.getByName("b1").delegate()).toEqual({
      label: "stub",
      agent: "w1",
      connection: null,
      request: null,
      caller: { kind: "agent", className: "Boss", name: "b1" },
    });
    expect(await env.Worker.getByName("w1").fromStub()).toMatchObject({ caller: { kind: "external" } });
  });

  it("runs blockConcurrencyWhile's work in the scope it was called from, and stub calls from it name that agent", async () => {
    harness = await startHarness({ Worker, Boss });
    const env = harness.host.env as Env;
    expect(await env.Worker.getByName("w1").underBlock()).toEqual({ label: "block", agent: "w1", connection: null, request: null, caller: { kind: "external" } });
    expect(await env.Worker.getByName("w1").delegateUnderBlock()).toMatchObject({ agent: "w9", caller: { kind: "agent", className: "Worker", name: "w1" } });
  });

  it("does not run a new agent's start-up work as the agent whose call woke it, even one of the same class and name", async () => {
    harness = await startHarness({ Worker, Boss, Builder });
    const env = harness.host.env as Env;
    expect(await env.Boss.getByName("b1").wakeBuilder()).toEqual({ label: "built", agent: null, connection: null, request: null, caller: null });
    // The root Builder "b" builds a sub-agent Builder "b" from its own event: same class, same name.
    expect(await env.Builder.getByName("b").childBuilt()).toEqual({ label: "built", agent: null, connection: null, request: null, caller: null });
  });

  it("is set for scheduled callbacks, and empty outside any agent", async () => {
    t = await createTestEnv({ agents: { Worker, Boss } });
    const worker = t.get<Worker>("Worker", "w2");
    await worker.scheduleIt();
    await t.clock.advance("2 seconds");
    expect(await worker.fired()).toEqual([{ label: "schedule", agent: "w2", connection: null, request: null, caller: null }]);
    expect(getCurrentAgent()).toEqual({ agent: undefined, connection: undefined, request: undefined, email: undefined, caller: undefined });
  });
});

describe("getCallableMethods() and isConnectionProtocolEnabled()", () => {
  it("keeps each event's agent apart while many agents' events interleave their awaits, and a timer an event set still sees its agent", async () => {
    harness = await startHarness({ Worker, Boss });
    const names = Array.from({ length: 12 }, (_, i) => `w${i}`);
    // Each request awaits a timer inside its event: the events of the twelve agents run interleaved.
    const seen = await Promise.all(names.map(async (name) => (await (await fetch(`${harness!.url}/agents/worker/${name}/x`)).json()) as { agent: string }));
    expect(seen.map((one) => one.agent)).toEqual(names);
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/worker/w3?_pk=conn-3`);
    await socket.waitForType("ctx");
    const [a, b] = await Promise.all([socket.call("inCallable"), socket.call("inCallable")]);
    expect([a.result, b.result]).toEqual([
      { label: "callable", agent: "w3", connection: "conn-3", request: null, caller: null },
      { label: "callable", agent: "w3", connection: "conn-3", request: null, caller: null },
    ]);
    socket.close();
  });

  it("lists decorated methods with their options", async () => {
    t = await createTestEnv({ agents: { Worker, Boss } });
    const list = await t.get<Worker>("Worker", "w3").callables();
    expect(list.sort()).toEqual([
      ["inCallable", null],
      ["other", "streams"],
      ["plain", null],
    ]);
  });

  it("tells raw connections from protocol ones", async () => {
    harness = await startHarness({ Raw });
    const raw = await TestSocket.open(`${harness.wsUrl}/agents/raw/r?raw=1`);
    const protocol = await TestSocket.open(`${harness.wsUrl}/agents/raw/r`);
    await raw.waitFor((f) => f === "protocol:false");
    await protocol.waitFor((f) => f === "protocol:true");
    raw.close();
    protocol.close();
  });
});
