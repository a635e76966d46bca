import { describe, expect, test } from "vitest";
import { DueWriter } from "../../../src/cluster/due/writer.ts";
import { postgresUnavailable } from "../../support/postgres.ts";
import { pgControl, pgFixture, waitFor } from "../pg/fixture.ts";
import { declareDead, dueRows, simNode } from "./support.ts";

describe.skipIf(postgresUnavailable() !== undefined)("due writer", () => {
  const pg = pgFixture("due_writer", { ownServer: true });

  test("next wakes set in one turn go out in one statement, the last value per actor", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const a = await simNode(pg, pool, schema, "a");
    for (let i = 0; i < 50; i++) await a.claim(`agent/${i}`);
    const writer = pg.track(new DueWriter({ pool, schema, epochOf: (id) => a.held.get(id) }));
    for (let i = 0; i < 50; i++) writer.set(`agent/${i}`, 1_000 + i);
    writer.set("agent/0", 5);
    writer.set("agent/1", null);
    await writer.settled("agent/0");
    await writer.flush();
    expect(writer.stats).toMatchObject({ statements: 1, rows: 50, fenced: 0, notHeld: 0, retries: 0 });
    const rows = await dueRows(pool, schema);
    expect(Object.keys(rows)).toHaveLength(49);
    expect(rows["agent/0"]).toEqual([5, 1]);
    expect(rows["agent/1"]).toBeUndefined();
    expect(rows["agent/49"]).toEqual([1_049, 1]);
  });

  test("values set while a statement is in flight follow it, so a row never goes back in time", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const a = await simNode(pg, pool, schema, "a");
    await a.claim("x");
    const writer = pg.track(new DueWriter({ pool, schema, epochOf: (id) => a.held.get(id) }));
    writer.set("x", 100);
    await new Promise((resolve) => setImmediate(resolve)); // the first statement is in flight now
    writer.set("x", 200);
    writer.set("x", 300);
    await writer.settled("x");
    expect(writer.backlog).toBe(0);
    expect(writer.stats.statements).toBe(2);
    expect(await dueRows(pool, schema)).toEqual({ x: [300, 1] });
  });

  test("settled waits for the values set before it, not for later ones: an actor that keeps moving its wake cannot starve it", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const a = await simNode(pg, pool, schema, "a");
    await a.claim("x");
    const writer = pg.track(new DueWriter({ pool, schema, epochOf: (id) => a.held.get(id), settleTimeoutMs: 600_000 }));
    let churning = true;
    let value = 0;
    const churn = (): void => {
      if (!churning) return;
      writer.set("x", ++value);
      setImmediate(churn);
    };
    churn();
    const asked = value;
    await writer.settled("x");
    churning = false;
    await writer.flush();
    expect(value).toBeGreaterThan(asked);
    expect(await dueRows(pool, schema)).toEqual({ x: [value, 1] });
  });

  test("an actor this node does not hold is skipped; one whose lease moved on is refused", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const a = await simNode(pg, pool, schema, "a");
    const b = await simNode(pg, pool, schema, "b");
    await a.claim("x");
    const writer = pg.track(new DueWriter({ pool, schema, epochOf: (id) => a.held.get(id) }));
    writer.set("x", 1_000);
    writer.set("not-mine", 1_000);
    await writer.flush();
    await declareDead(pool, schema, a);
    await b.claim("x");
    writer.set("x", 5); // a's belief: still epoch 1
    await writer.settled("x");
    expect(writer.stats).toMatchObject({ statements: 2, rows: 1, fenced: 1, notHeld: 1 });
    expect(await dueRows(pool, schema)).toEqual({ x: [1_000, 1] });
    // Nothing pending: settled answers at once.
    await writer.settled("y");
  });

  test("while Postgres is down the newest values wait and are written when it is back; settled gives up after its timeout", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const a = await simNode(pg, pool, schema, "a");
    await a.claim("x");
    await a.membership.close(); // its heartbeat would only fail while the server is down
    const reports: string[] = [];
    const writer = pg.track(new DueWriter({ pool, schema, epochOf: (id) => a.held.get(id), settleTimeoutMs: 200, attemptTimeoutMs: 1_000, report: (error) => reports.push(error.message) }));
    const control = pgControl(pg.server);
    await control.stop();
    try {
      writer.set("x", 1);
      await writer.settled("x"); // the timeout: Postgres is down
      expect(writer.backlog).toBe(1);
      writer.set("x", 2);
      await waitFor("a failed attempt", () => writer.stats.retries > 0);
    } finally {
      await control.start();
    }
    await writer.flush();
    expect(await dueRows(pool, schema)).toEqual({ x: [2, 1] });
    expect(reports).toHaveLength(1); // once per run of failures
  });

  test("bad values and options are refused with their limits", () => {
    const pool = pg.pool();
    expect(() => new DueWriter({ pool, epochOf: () => 1, settleTimeoutMs: 0 })).toThrow("DueWriter settleTimeoutMs must be a positive number of milliseconds, got 0");
    const writer = pg.track(new DueWriter({ pool, epochOf: () => 1 }));
    expect(() => writer.set("x", Number.POSITIVE_INFINITY)).toThrow("x: a next wake must be a finite number of epoch milliseconds or null, got Infinity");
    expect(writer.backlog).toBe(0);
  });
});
