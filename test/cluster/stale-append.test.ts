import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Agent } from "../../src/index.ts";
import { postgresUnavailable, sharedPostgres, type TestPostgres } from "../support/postgres.ts";
import { defineListAgent } from "./fixtures/list-agent.ts";
import { startTestNode, stopTestNode, type TestNode } from "./support/test-node.ts";
import { until } from "./support/until.ts";

/**
 * An append made under an earlier lease that fails late (fenced) must not evict the copy of the agent
 * claimed since. The statements are held by a wrapper of `pg.Client.prototype.query` (in this process)
 * until the test lets them go, so the sequence is the same every run.
 */
const unavailable = postgresUnavailable();
const ListAgent = defineListAgent(Agent);

type Query = (this: pg.Client, ...args: unknown[]) => unknown;

/** Holds matching statements before they are sent, until released. */
class QueryGate {
  readonly #original = pg.Client.prototype.query as unknown as Query;
  #heartbeats: PromiseWithResolvers<void> | undefined;
  #append: { actorId: string; held: PromiseWithResolvers<void>; release: PromiseWithResolvers<void> } | undefined;

  install(): void {
    const original = this.#original;
    const gate = (text: string, values: unknown): Promise<void> | undefined => {
      if (this.#heartbeats !== undefined && text.includes("SET heartbeat_at = now()")) return this.#heartbeats.promise;
      const append = this.#append;
      if (append !== undefined && text.includes("actor_log") && text.includes("unnest") && text.startsWith("INSERT") && JSON.stringify((values as unknown[])?.[0] ?? []).includes(append.actorId)) {
        this.#append = undefined;
        append.held.resolve();
        return append.release.promise;
      }
      return undefined;
    };
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const [config, values] = args as [string | { text?: string; values?: unknown } | undefined, unknown];
      const text = typeof config === "string" ? config : (config?.text ?? "");
      const held = gate(text.trim(), typeof config === "object" && config?.values !== undefined ? config.values : values);
      if (held === undefined) return original.apply(this, args);
      return held.then(() => original.apply(this, args));
    } as unknown as typeof pg.Client.prototype.query;
  }

  uninstall(): void {
    pg.Client.prototype.query = this.#original as unknown as typeof pg.Client.prototype.query;
    this.releaseHeartbeats();
    this.#append?.release.resolve();
  }

  holdHeartbeats(): void {
    this.#heartbeats = Promise.withResolvers<void>();
  }

  releaseHeartbeats(): void {
    this.#heartbeats?.resolve();
    this.#heartbeats = undefined;
  }

  /** Holds the next log append carrying `actorId`'s entries; resolves `held` once it is being sent. */
  holdAppend(actorId: string): { held: Promise<void>; release: () => void } {
    const held = Promise.withResolvers<void>();
    const release = Promise.withResolvers<void>();
    this.#append = { actorId, held, release };
    return { held: held.promise, release: () => release.resolve() };
  }
}

async function post(url: string, value: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${url}/agents/list-agent/x?value=${value}`, { method: "POST" });
  return { status: response.status, text: await response.text() };
}

describe.skipIf(unavailable !== undefined)("a late failure of an append of an earlier lease", () => {
  let server: TestPostgres;
  let db: pg.Client;
  const gate = new QueryGate();
  let node: TestNode | undefined;

  beforeAll(async () => {
    server = await sharedPostgres();
  }, 30_000);
  afterAll(async () => {
    gate.uninstall();
    if (node) await stopTestNode(node);
    await db?.end().catch(() => undefined);
  }, 30_000);

  test("leaves the copy claimed since alone: the node keeps serving it under its new lease", async () => {
    const connectionString = await server.database("stale_append");
    db = new pg.Client({ connectionString });
    await db.connect();
    const epoch = async (): Promise<number> => Number((await db.query<{ epoch: string }>("SELECT epoch FROM hearth.actor_lease WHERE actor_id = 'list-agent/x'")).rows[0]?.epoch);
    // Before the node starts: its pool binds each connection's query as it connects.
    gate.install();
    node = await startTestNode(connectionString, "a", { host: { agents: { ListAgent } }, ttlMs: 1_000, heartbeatMs: 250 });
    const a = node;
    expect(await post(a.url, "v1")).toEqual({ status: 200, text: '["v1"]' });
    expect(await epoch()).toBe(1);

    // v2's append (epoch 1) is held on its way to Postgres, and the heartbeats with it: the node's
    // membership expires by its own clock and it gives x up.
    const append = gate.holdAppend("list-agent/x");
    gate.holdHeartbeats();
    const v2 = post(a.url, "v2");
    await append.held;
    await until("x given up", async () => a.node.heldAgents, (held) => held === 0);
    // The heartbeats pass again: the node joins as a new incarnation and claims x anew (epoch 2).
    gate.releaseHeartbeats();
    await until("x served again", async () => (await fetch(`${a.url}/agents/list-agent/x`)).status, (status) => status === 200);
    expect(await post(a.url, "v3")).toEqual({ status: 200, text: '["v1","v3"]' });
    expect(await epoch()).toBe(2);
    expect(a.node.holds("list-agent", "x")).toBe(true);

    // The old append goes on now and is refused (its epoch is gone): v2 fails, as it must.
    append.release();
    expect((await v2).status).toBe(500);
    // The copy of epoch 2 is still held and served without a new claim.
    expect(a.node.holds("list-agent", "x")).toBe(true);
    expect(await post(a.url, "v4")).toEqual({ status: 200, text: '["v1","v3","v4"]' });
    expect(await epoch()).toBe(2);
  }, 60_000);
});
