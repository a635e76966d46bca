import { describe, expect, it } from "vitest";
import { kvTableName, openPostgresKvNamespace, settlePostgresKvWrites } from "../../../src/cluster/bindings/index.ts";
import { VirtualClock } from "../../../src/time/clock.ts";
import { postgresUnavailable } from "../../support/postgres.ts";
import { CONTRACT_START_SECONDS, kvContract } from "../../kv/contract.ts";
import { pgFixture } from "../pg/fixture.ts";

describe.skipIf(postgresUnavailable() !== undefined)("KV API on the cluster's Postgres", () => {
  const pg = pgFixture("kv_contract");
  kvContract(async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const clock = new VirtualClock({ start: CONTRACT_START_SECONDS * 1000 });
    pg.track({ close: () => clock.dispose() });
    const kv = openPostgresKvNamespace(pool, "CONTRACT", { clock, schema });
    pg.track({
      close: async () => {
        kv.close();
        await settlePostgresKvWrites();
      },
    });
    return { kv, clock, label: "CONTRACT" };
  });

  it("keeps what the contract writes in the cluster's Postgres, not in a local file", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const clock = new VirtualClock({ start: CONTRACT_START_SECONDS * 1000 });
    pg.track({ close: () => clock.dispose() });
    const kv = openPostgresKvNamespace(pool, "WHERE", { clock, schema });
    await kv.put("where", "in postgres", { metadata: { m: 1 } });
    kv.close();
    await settlePostgresKvWrites();
    const { rows } = await pool.query(`SELECT namespace, key, metadata FROM ${kvTableName(schema)}`);
    expect(rows).toEqual([{ namespace: "WHERE", key: "where", metadata: '{"m":1}' }]);
  });
});
