import { describe, expect, it } from "vitest";
import { openPostgresSecretStore, secretTables, type PostgresSecretStoreOptions } from "../../../src/cluster/bindings/index.ts";
import { createClusterPool } from "../../../src/cluster/pg/pool.ts";
import type pg from "pg";
import { postgresUnavailable } from "../../support/postgres.ts";
import { freePort } from "../../support/ports.ts";
import { expectStoreError, KEY_A, KEY_B } from "../../secrets/contract.ts";
import { VALUE } from "../../secrets/helpers.ts";
import { pgFixture, waitFor } from "../pg/fixture.ts";

describe.skipIf(postgresUnavailable() !== undefined)("the cluster's secret key", () => {
  const pg = pgFixture("secrets_key");

  async function opened(pool: pg.Pool, options: PostgresSecretStoreOptions) {
    const store = await openPostgresSecretStore(pool, { watch: false, ...options });
    return pg.track({ close: () => store.close(), store }).store;
  }

  async function withSecret(): Promise<{ pool: pg.Pool; schema: string }> {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    await (await opened(pool, { schema, keyEnv: KEY_A })).put("API_KEY", VALUE);
    return { pool, schema };
  }

  it("a node without HEARTH_SECRET_KEY fails at start when the cluster holds secrets, naming the variable", async () => {
    const { pool, schema } = await withSecret();
    const error = await expectStoreError(
      () => opened(pool, { schema }),
      "KEY_MISSING",
      `cannot read the cluster's secrets in "${schema}"."secrets": HEARTH_SECRET_KEY is not set. In a cluster the key comes from HEARTH_SECRET_KEY, the same on every node`,
    );
    expect(error.message).toContain("set it to the key the stored secrets were written with");
    // An empty variable counts as unset.
    await expectStoreError(() => opened(pool, { schema, keyEnv: "  " }), "KEY_MISSING", "HEARTH_SECRET_KEY is not set");
  });

  it("a node whose HEARTH_SECRET_KEY does not match the stored secrets fails at start, naming the variable", async () => {
    const { pool, schema } = await withSecret();
    const error = await expectStoreError(
      () => opened(pool, { schema, keyEnv: KEY_B }),
      "KEY_MISMATCH",
      `cannot decrypt secrets: HEARTH_SECRET_KEY does not match the key the cluster's secrets in "${schema}"."secrets" were written with. Every node and every hearth secret command must use the same HEARTH_SECRET_KEY; nothing was changed`,
    );
    expect(error.message).not.toContain(KEY_B);
    // The key is the cluster's, not an environment's: a node of another environment is refused too.
    await expectStoreError(() => opened(pool, { schema, keyEnv: KEY_B, envName: "staging" }), "KEY_MISMATCH", "does not match");
    expect((await opened(pool, { schema, keyEnv: KEY_A })).get("API_KEY")).toBe(VALUE);
  });

  it("a node refused at start leaves no listener behind", async () => {
    const { pool, schema } = await withSecret();
    await expectStoreError(() => openPostgresSecretStore(pool, { schema, keyEnv: KEY_B }), "KEY_MISMATCH", "does not match");
    const listening = async () => (await pool.query("SELECT 1 FROM pg_stat_activity WHERE query = $1", [`LISTEN ${secretTables(schema).channel}`])).rowCount;
    // Its connection was ended before the error was thrown; the server drops the row a moment later.
    await waitFor("the refused node's listener to be gone", async () => (await listening()) === 0);
  });

  it("a cluster without secrets starts without a key, reads nothing, and refuses a put, naming the variable", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const store = await opened(pool, { schema });
    expect(store.list()).toEqual([]);
    expect(store.get("A")).toBeUndefined();
    expect(store.all()).toEqual({});
    const error = await expectStoreError(() => store.put("A", VALUE), "KEY_MISSING", "cannot write the cluster's secrets");
    expect(error.message).toContain("HEARTH_SECRET_KEY is not set");
    expect(error.message).toContain("no key file is read or made): set it, e.g. to the output of `openssl rand -base64 32`");
    await expectStoreError(() => store.verifyKey(), "KEY_MISSING", "HEARTH_SECRET_KEY is not set");
    const { rows } = await pool.query(`SELECT * FROM ${secretTables(schema).secrets}`);
    expect(rows).toEqual([]);
  });

  it("records the key's fingerprint while secrets exist, and forgets it with the last one", async () => {
    const { pool, schema } = await withSecret();
    const t = secretTables(schema);
    const keyRows = async () => (await pool.query<{ key_id: string }>(`SELECT key_id FROM ${t.key}`)).rows.map((row) => row.key_id);
    expect(await keyRows()).toHaveLength(1);
    expect((await keyRows())[0]).toMatch(/^[0-9a-f]{16}$/);
    // A delete needs no key.
    expect(await (await opened(pool, { schema, checkKey: false })).delete("API_KEY")).toBe(true);
    expect(await keyRows()).toEqual([]);
    await (await opened(pool, { schema, keyEnv: KEY_B, envName: "staging" })).put("A", "1");
    expect(await keyRows()).toHaveLength(1);
  });

  it("a put under another key from a copy that has not seen the first put is refused in the transaction", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    // Opened before any secret exists: its copy knows no key yet.
    const late = await opened(pool, { schema, keyEnv: KEY_B, envName: "staging" });
    await (await opened(pool, { schema, keyEnv: KEY_A })).put("API_KEY", VALUE);
    await expectStoreError(() => late.put("OTHER", "x"), "KEY_MISMATCH", "HEARTH_SECRET_KEY does not match");
    const { rows } = await pool.query(`SELECT env, name FROM ${secretTables(schema).secrets}`);
    expect(rows).toEqual([{ env: "", name: "API_KEY" }]);
  });

  it("detects a value altered, or moved to another name or environment", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const t = secretTables(schema);
    const production = await opened(pool, { schema, keyEnv: KEY_A, envName: "production" });
    await production.put("A", VALUE);
    await production.put("B", "other");
    await pool.query(`UPDATE ${t.secrets} SET value = (SELECT value FROM ${t.secrets} WHERE name = 'A') WHERE name = 'B'`);
    await pool.query(`INSERT INTO ${t.secrets} (env, name, value) SELECT 'staging', name, value FROM ${t.secrets} WHERE name = 'A'`);
    await production.refresh();
    expect(production.get("A")).toBe(VALUE);
    const moved = await expectStoreError(() => production.get("B"), "FILE_CORRUPT", `cannot decrypt secret "B" in "${schema}"."secrets" (environment production): it was altered, or copied from another name or environment`);
    expect(moved.message).not.toContain(VALUE);
    expect(moved.message).not.toMatch(/unable to authenticate|Unsupported state/);
    const staging = await opened(pool, { schema, keyEnv: KEY_A, envName: "staging" });
    await expectStoreError(() => staging.get("A"), "FILE_CORRUPT", "(environment staging): it was altered");
    await pool.query(`UPDATE ${t.secrets} SET value = '\\x00'::bytea WHERE env = 'production' AND name = 'A'`);
    await production.refresh();
    await expectStoreError(() => production.get("A"), "FILE_CORRUPT", 'cannot decrypt secret "A"');
  });

  it("serves reads from memory when Postgres is gone, and says a write failed", async () => {
    const { schema, pool: setup } = await withSecret();
    const pool = createClusterPool({ connectionString: pg.url, max: 2, connectionTimeoutMillis: 2_000 });
    const store = await openPostgresSecretStore(pool, { schema, keyEnv: KEY_A, watch: false });
    await pool.end();
    expect(store.get("API_KEY")).toBe(VALUE);
    expect(store.list()).toEqual(["API_KEY"]);
    await expectStoreError(() => store.put("B", "2"), "UNAVAILABLE", `cannot write secrets to the cluster's Postgres ("${schema}"."secrets" (the top-level environment)):`);
    await store.close();
    expect((await setup.query(`SELECT name FROM ${secretTables(schema).secrets}`)).rows).toEqual([{ name: "API_KEY" }]);
  });

  it("refuses a schema name that is not a lowercase identifier", async () => {
    const pool = pg.pool();
    await expect(openPostgresSecretStore(pool, { schema: "Bad-Name", keyEnv: KEY_A })).rejects.toThrow(
      'cluster schema name "Bad-Name" is not a lowercase identifier of at most 63 characters ([a-z_][a-z0-9_]*)',
    );
  });

  it("fails to open with a clear error when Postgres cannot be reached", async () => {
    const pool = pg.pool({ connectionString: `postgres://nobody@127.0.0.1:${await freePort()}/none` });
    await expectStoreError(() => openPostgresSecretStore(pool, { keyEnv: KEY_A }), "UNAVAILABLE", `cannot read secrets from the cluster's Postgres ("hearth"."secrets" (the top-level environment)):`);
  });
});
