import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { postgresUnavailable, startPostgres, type TestPostgres } from "../support/postgres.ts";

const unavailable = postgresUnavailable();

describe.skipIf(unavailable !== undefined)("the tests' Postgres server", () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startPostgres({ durable: true });
  }, 30_000);
  afterAll(() => server?.stop());

  test("keeps a committed row across an immediate (crash) restart", async () => {
    const url = await server.database("harness");
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query("CREATE TABLE t (id int PRIMARY KEY, v text)");
    await client.query("INSERT INTO t VALUES (1, 'kept')");
    await client.end();
    server.restart("immediate");
    const after = new pg.Client({ connectionString: url });
    await after.connect();
    const { rows } = await after.query("SELECT v FROM t WHERE id = 1");
    await after.end();
    expect(rows).toEqual([{ v: "kept" }]);
  }, 30_000);
});
