import { describe, expect, it } from "vitest";
import { openPostgresSecretStore, SECRET_LISTEN_RETRY_MS, SECRET_POLL_INTERVAL_MS, secretTables, type PostgresSecretStoreOptions } from "../../../src/cluster/bindings/index.ts";
import { SecretsStoreSecret } from "../../../src/secrets/index.ts";
import { VirtualClock } from "../../../src/time/clock.ts";
import type pg from "pg";
import { postgresUnavailable } from "../../support/postgres.ts";
import { KEY_A, KEY_B } from "../../secrets/contract.ts";
import { VALUE } from "../../secrets/helpers.ts";
import { pgFixture, waitFor } from "../pg/fixture.ts";

describe.skipIf(postgresUnavailable() !== undefined)("secrets shared by the nodes of a cluster", () => {
  const pg = pgFixture("secrets_cluster");

  /** Two nodes: each its own pool (as each machine has), the same schema. The clock drives only `node`'s poll and reconnection. */
  async function twoNodes(nodeOptions: Partial<PostgresSecretStoreOptions> = {}) {
    const writerPool = pg.pool({ applicationName: "node-a" });
    const schema = await pg.schema(writerPool);
    const clock = new VirtualClock({ start: 0 });
    pg.track({ close: () => clock.dispose() });
    const open = async (pool: pg.Pool, options: PostgresSecretStoreOptions) => {
      const store = await openPostgresSecretStore(pool, { schema, keyEnv: KEY_A, envName: "production", ...options });
      return pg.track({ close: () => store.close(), store }).store;
    };
    const writer = await open(writerPool, { watch: false });
    const node = await open(pg.pool({ applicationName: "node-b" }), { clock, ...nodeOptions });
    return { schema, clock, writer, node, writerPool };
  }

  it("a put and a delete on one node reach the other's bindings by notification, with no poll", async () => {
    const { writer, node, clock } = await twoNodes();
    const binding = new SecretsStoreSecret(node, "API_KEY");
    await expect(binding.get()).rejects.toThrow('Secret "API_KEY" not found');
    await writer.put("API_KEY", VALUE);
    // The node's clock never moves: only the notification can bring the change.
    await waitFor("the put to reach the other node", () => node.get("API_KEY") === VALUE);
    await expect(binding.get()).resolves.toBe(VALUE);
    await writer.apply([["API_KEY", "v2"], ["OTHER", "x"]]);
    await waitFor("the second write", () => node.get("API_KEY") === "v2" && node.has("OTHER"));
    await writer.delete("API_KEY");
    await waitFor("the delete", () => node.get("API_KEY") === undefined);
    await expect(binding.get()).rejects.toThrow('Secret "API_KEY" not found');
    expect(clock.now()).toBe(0);
  });

  it("another environment's write does not disturb a node's copy", async () => {
    const { writer, node, schema, writerPool } = await twoNodes();
    const staging = await openPostgresSecretStore(writerPool, { schema, keyEnv: KEY_A, envName: "staging", watch: false });
    pg.track({ close: () => staging.close() });
    await staging.put("API_KEY", "staging");
    await writer.put("MARK", "1");
    await waitFor("the production write", () => node.has("MARK"));
    expect(node.list()).toEqual(["MARK"]);
  });

  it("without notifications (LISTEN off), the poll brings a change within its interval", async () => {
    const { writer, node, clock } = await twoNodes({ listen: false });
    await writer.put("API_KEY", VALUE);
    // Nothing refreshes the copy before the poll is due.
    expect(node.get("API_KEY")).toBeUndefined();
    await clock.advance(SECRET_POLL_INTERVAL_MS - 1);
    expect(node.get("API_KEY")).toBeUndefined();
    await clock.advance(1);
    expect(node.get("API_KEY")).toBe(VALUE);
    await writer.delete("API_KEY");
    await clock.advance(SECRET_POLL_INTERVAL_MS);
    expect(node.get("API_KEY")).toBeUndefined();
  });

  it("when the listener's connection is lost, the node reconnects and reloads what it missed", async () => {
    const { writer, node, clock, schema, writerPool } = await twoNodes({ pollIntervalMs: 0 });
    await writer.put("BEFORE", "1");
    await waitFor("the first put", () => node.has("BEFORE"));
    const channel = secretTables(schema).channel;
    const { rowCount } = await writerPool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1", [`LISTEN ${channel}`]);
    expect(rowCount).toBe(1);
    // Written while the node is not listening: this notification is lost.
    await writer.put("WHILE_AWAY", VALUE);
    // The reconnection is armed once the node has seen the connection end; then it reloads the environment.
    await waitFor("the node to reconnect and reload", async () => {
      await clock.advance(SECRET_LISTEN_RETRY_MS);
      return node.get("WHILE_AWAY") === VALUE;
    });
    // Listening again: the next write arrives by notification.
    const now = clock.now();
    await writer.put("AFTER", "2");
    await waitFor("a write after the reconnection", () => node.has("AFTER"));
    expect(clock.now()).toBe(now);
  });

  it("a write resolves once the writer's own copy shows it", async () => {
    const { node } = await twoNodes();
    await node.put("MINE", VALUE);
    expect(node.get("MINE")).toBe(VALUE);
    expect(await node.delete("MINE")).toBe(true);
    expect(node.has("MINE")).toBe(false);
  });

  it("closing stops the listener and the poll", async () => {
    const { node, clock, schema, writerPool } = await twoNodes();
    await node.close();
    expect(clock.pendingTimers).toBe(0);
    const channel = secretTables(schema).channel;
    await waitFor("the listener's connection to end", async () => (await writerPool.query("SELECT 1 FROM pg_stat_activity WHERE query = $1", [`LISTEN ${channel}`])).rowCount === 0);
  });

  it("two first puts under different keys at once: one key wins, the other put is refused and writes nothing", async () => {
    const { writer, node, schema, writerPool } = await twoNodes();
    const other = await openPostgresSecretStore(writerPool, { schema, keyEnv: KEY_B, envName: "staging", watch: false });
    pg.track({ close: () => other.close() });
    const results = await Promise.allSettled([writer.put("A", "1"), other.put("B", "2")]);
    const refused = results.filter((result) => result.status === "rejected");
    expect(refused).toHaveLength(1);
    expect(String((refused[0] as PromiseRejectedResult).reason)).toContain("HEARTH_SECRET_KEY does not match");
    const { rows } = await writerPool.query(`SELECT name FROM ${secretTables(schema).secrets}`);
    expect(rows).toHaveLength(1);
    if (results[0]!.status === "fulfilled") await waitFor("the winner's put", () => node.get("A") === "1");
  });

  it("when Postgres cannot be reached, the poll reports it and reads go on from memory", async () => {
    const writerPool = pg.pool();
    const schema = await pg.schema(writerPool);
    await (await openPostgresSecretStore(writerPool, { schema, keyEnv: KEY_A, watch: false })).put("API_KEY", VALUE);
    const clock = new VirtualClock({ start: 0 });
    pg.track({ close: () => clock.dispose() });
    const nodePool = pg.pool();
    const errors: unknown[] = [];
    const node = await openPostgresSecretStore(nodePool, { schema, keyEnv: KEY_A, clock, listen: false, onError: (error) => errors.push(error) });
    pg.track({ close: () => node.close() });
    await nodePool.end();
    await clock.advance(SECRET_POLL_INTERVAL_MS);
    expect(errors).toHaveLength(1);
    expect(node.get("API_KEY")).toBe(VALUE);
    await clock.advance(SECRET_POLL_INTERVAL_MS);
    expect(errors).toHaveLength(2);
    expect(node.all()).toEqual({ API_KEY: VALUE });
  });
});
