import { describe, expect, test } from "vitest";
import { clusterTables, migrate, SCHEMA_VERSION } from "../../../src/cluster/pg/schema.ts";
import { postgresUnavailable } from "../../support/postgres.ts";
import { pgFixture } from "./fixture.ts";

describe.skipIf(postgresUnavailable() !== undefined)("cluster schema", () => {
  const pg = pgFixture("schema");

  test("nodes starting together migrate once, and migrating again changes nothing", async () => {
    const pool = pg.pool({ max: 6 });
    await Promise.all(Array.from({ length: 6 }, () => migrate(pool, { schema: "together" })));
    await migrate(pool, { schema: "together" });
    const { rows } = await pool.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'together' ORDER BY table_name",
    );
    expect(rows.map((r) => r.table_name)).toEqual(["actor_due", "actor_lease", "actor_log", "actor_snapshot", "cluster_settings", "cron_claims", "kept_services", "nodes", "schema_version"]);
    const version = await pool.query(`SELECT version FROM ${clusterTables("together").version}`);
    expect(version.rows).toEqual([{ version: SCHEMA_VERSION }]);
  });

  test("snapshot images are compressed with lz4 where the server has it; log keys sort byte-wise", async () => {
    const pool = pg.pool();
    const name = await pg.schema(pool);
    const lz4 = (await pool.query(`SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)`)).rowCount === 1;
    const column = async (table: string, attribute: string) =>
      (
        await pool.query(
          `SELECT attcompression::text AS compression, collation_name AS collation FROM pg_attribute a
           JOIN information_schema.columns c ON c.table_schema = $1 AND c.table_name = $2 AND c.column_name = a.attname
           WHERE a.attrelid = ($1 || '.' || $2)::regclass AND a.attname = $3`,
          [name, table, attribute],
        )
      ).rows[0] as { compression: string; collation: string | null };
    expect((await column("actor_snapshot", "image")).compression).toBe(lz4 ? "l" : "");
    expect((await column("actor_log", "actor_id")).collation).toBe("C");
    expect((await column("actor_snapshot", "actor_id")).collation).toBe("C");
  });

  test("a nodes table made before ttl_ms gets the column, its rows the default TTL", async () => {
    const pool = pg.pool();
    const name = await pg.schema(pool);
    const t = clusterTables(name);
    await pool.query(`ALTER TABLE ${t.nodes} DROP COLUMN ttl_ms`);
    await pool.query(`INSERT INTO ${t.nodes} (node_id, address, incarnation, state, heartbeat_at, joined_at) VALUES ('old', 'http://old', 1, 'alive', now(), now())`);
    await migrate(pool, { schema: name });
    await migrate(pool, { schema: name }); // once there, left as it is
    expect((await pool.query(`SELECT node_id, ttl_ms FROM ${t.nodes}`)).rows).toEqual([{ node_id: "old", ttl_ms: 3000 }]);
  });

  test("two schemas in one database keep their rows apart", async () => {
    const pool = pg.pool();
    const a = await pg.schema(pool);
    const b = await pg.schema(pool);
    await pool.query(`INSERT INTO ${clusterTables(a).lease} VALUES ('x', NULL, NULL, 7)`);
    expect((await pool.query(`SELECT * FROM ${clusterTables(b).lease}`)).rowCount).toBe(0);
  });

  test("refuses a database written by a newer version, leaving it unchanged", async () => {
    const pool = pg.pool();
    const name = await pg.schema(pool);
    await pool.query(`UPDATE ${clusterTables(name).version} SET version = ${SCHEMA_VERSION + 1}`);
    await expect(migrate(pool, { schema: name })).rejects.toThrow(
      `cluster schema "${name}" is at version ${SCHEMA_VERSION + 1}, newer than this Hearth's ${SCHEMA_VERSION}: upgrade Hearth on this node (the tables were left unchanged)`,
    );
    expect((await pool.query(`SELECT version FROM ${clusterTables(name).version}`)).rows).toEqual([{ version: SCHEMA_VERSION + 1 }]);
  });

  test("a schema name that is not a plain identifier is refused before any SQL", () => {
    expect(() => clusterTables('x"; DROP TABLE y; --')).toThrow(
      'cluster schema name "x\\"; DROP TABLE y; --" is not a lowercase identifier of at most 63 characters ([a-z_][a-z0-9_]*)',
    );
  });
});
