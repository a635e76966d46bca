import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { openPostgresSecretStore, secretTables, type PostgresSecretStoreOptions } from "../../../src/cluster/bindings/index.ts";
import type pg from "pg";
import { postgresUnavailable } from "../../support/postgres.ts";
import { KEY_A, secretStoreContract } from "../../secrets/contract.ts";
import { VALUE } from "../../secrets/helpers.ts";
import { pgFixture } from "../pg/fixture.ts";

describe.skipIf(postgresUnavailable() !== undefined)("secret store contract: the cluster's Postgres", () => {
  const pg = pgFixture("secrets_contract");

  /** A store on `pool` that the fixture closes after the test; a one-shot copy, as `hearth secret` opens. */
  async function opened(pool: pg.Pool, options: PostgresSecretStoreOptions) {
    const store = await openPostgresSecretStore(pool, { watch: false, checkKey: false, ...options });
    return pg.track({ close: () => store.close(), store }).store;
  }

  secretStoreContract({
    async setup() {
      const pool = pg.pool();
      const schema = await pg.schema(pool);
      return (options = {}) => opened(pool, { schema, envName: options.envName, keyEnv: options.keyEnv === undefined ? KEY_A : (options.keyEnv ?? undefined) });
    },
    async sync(store) {
      await (store as Awaited<ReturnType<typeof opened>>).refresh();
    },
  });

  it("creates its tables in the cluster's schema", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    await opened(pool, { schema, keyEnv: KEY_A });
    const { rows } = await pool.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'secrets%' ORDER BY 1", [schema]);
    expect(rows.map((row) => row.table_name)).toEqual(["secrets", "secrets_generation", "secrets_key"]);
    expect(secretTables(schema).secrets).toBe(`"${schema}"."secrets"`);
  });

  it("keeps only ciphertext in Postgres: neither the value in clear, nor in base64 or hex, nor the key", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const store = await opened(pool, { schema, keyEnv: KEY_A, envName: "production" });
    await store.put("API_KEY", VALUE);
    const t = secretTables(schema);
    const { rows } = await pool.query<{ env: string; name: string; value: Buffer }>(`SELECT env, name, value FROM ${t.secrets}`);
    expect(rows.map((row) => [row.env, row.name])).toEqual([["production", "API_KEY"]]);
    const stored = rows[0]!.value;
    // IV (12) ‖ tag (16) ‖ ciphertext, as long as the value: GCM adds no padding.
    expect(stored.length).toBe(12 + 16 + Buffer.byteLength(VALUE));
    for (const form of [Buffer.from(VALUE), Buffer.from(Buffer.from(VALUE).toString("base64").slice(0, 16)), Buffer.from(Buffer.from(VALUE).toString("hex").slice(0, 16))]) {
      expect(stored.includes(form)).toBe(false);
    }
    const dump = await pool.query(`SELECT (SELECT string_agg(value::text, '') FROM ${t.secrets}) AS v, (SELECT string_agg(key_id, '') FROM ${t.key}) AS k`);
    const text = JSON.stringify(dump.rows);
    expect(text).not.toContain(VALUE);
    expect(text).not.toContain(KEY_A);
    expect(text).not.toContain(Buffer.from(KEY_A, "hex").toString("base64"));
    // The same value twice: two fresh IVs, two different ciphertexts.
    await store.put("OTHER", VALUE);
    const both = await pool.query<{ value: Buffer }>(`SELECT value FROM ${t.secrets} ORDER BY name`);
    expect(both.rows[0]!.value.equals(both.rows[1]!.value)).toBe(false);
  });

  it("shows its table and size when logged, never a value", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const store = await opened(pool, { schema, keyEnv: KEY_A, envName: "production" });
    await store.put("API_KEY", VALUE);
    expect(inspect(store)).toBe(`PostgresSecretStore { location: "${schema}"."secrets" (environment production), secrets: 1 }`);
  });
});
