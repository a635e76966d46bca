import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { postgresUnavailable, sharedPostgres, type TestPostgres } from "../../support/postgres.ts";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.ts";

const unavailable = postgresUnavailable();

describe.skipIf(unavailable !== undefined)("the fault proxy between a pg client and Postgres", () => {
  let server: TestPostgres;
  let databaseUrl: string;
  let proxy: FaultProxy;
  const clients: pg.Client[] = [];

  /** A client through the proxy; connection errors are collected rather than thrown at the process. */
  const client = (options: Partial<pg.ClientConfig> = {}): { client: pg.Client; errors: Error[] } => {
    const errors: Error[] = [];
    const created = new pg.Client({ connectionString: proxy.url(databaseUrl), connectionTimeoutMillis: 2_000, ...options });
    created.on("error", (error) => errors.push(error));
    clients.push(created);
    return { client: created, errors };
  };

  beforeAll(async () => {
    server = await sharedPostgres();
    databaseUrl = await server.database("fault_proxy");
  }, 30_000);
  afterAll(() => server?.stop());

  beforeEach(async () => {
    proxy = await startFaultProxy({ target: { host: "127.0.0.1", port: server.port } });
  });
  afterEach(async () => {
    await proxy.close();
    // Clients whose link was cut end at once; ending them only releases their sockets.
    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => {})));
  });

  const one = async (c: pg.Client): Promise<number> => (await c.query<{ n: number }>("SELECT 1 AS n")).rows[0]!.n;

  test("pass: queries go through", async () => {
    const { client: c } = client();
    await c.connect();
    expect(await one(c)).toBe(1);
    expect(proxy.stats.open).toBe(1);
  });

  test("blackhole: a query hangs until the client's own timeout, and new clients cannot connect", async () => {
    const { client: c } = client({ query_timeout: 300 });
    await c.connect();
    await proxy.mode("blackhole");
    await expect(c.query("SELECT 1")).rejects.toThrow("Query read timeout");
    const { client: late } = client({ connectionTimeoutMillis: 300 });
    await expect(late.connect()).rejects.toThrow("timeout");
  });

  test("blackhole then pass: a query in flight completes, like a network that came back", async () => {
    const { client: c, errors } = client();
    await c.connect();
    await proxy.mode("blackhole");
    let answered = false;
    const pending = one(c).finally(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(answered).toBe(false);
    await proxy.mode("pass");
    expect(await pending).toBe(1);
    expect(await one(c)).toBe(1);
    expect(errors).toEqual([]);
  });

  test("reset: a query in flight fails and the client reports the broken connection", async () => {
    const { client: c, errors } = client();
    await c.connect();
    const sleeping = c.query("SELECT pg_sleep(10)");
    // The server must have the query before the link is cut; pg_stat_activity shows it.
    const watcher = new pg.Client({ connectionString: databaseUrl });
    await watcher.connect();
    try {
      for (;;) {
        const { rows } = await watcher.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(10)'");
        if (rows[0].n > 0) break;
      }
    } finally {
      await watcher.end();
    }
    await proxy.mode("reset");
    await expect(sleeping).rejects.toThrow();
    expect(errors.length).toBeGreaterThan(0);
    await proxy.mode("pass");
    const { client: fresh } = client();
    await fresh.connect();
    expect(await one(fresh)).toBe(1);
  });

  test("drop-new: a second client is refused while the first keeps working; pass lets new clients in again", async () => {
    const { client: first } = client();
    await first.connect();
    await proxy.mode("drop-new");
    const { client: second } = client();
    await expect(second.connect()).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(await one(first)).toBe(1);
    await proxy.mode("pass");
    const { client: third } = client();
    await third.connect();
    expect(await one(third)).toBe(1);
    expect(await one(first)).toBe(1);
  });
});
