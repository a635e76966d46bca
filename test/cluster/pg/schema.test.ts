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
    expect(rows.map((r) => r.table_name)).toEqual(["actor_due", "actor_lease", "actor_log", "actor_snapshot", "cluster_settings", "cron_claims", "nodes", "schema_version"]);
    const version = await pool.query(`SELECT version FROM ${clusterTables("together").version}`);
    expect(version.rows).toEqual([{ version: SCHEMA_VERSION }]);
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
