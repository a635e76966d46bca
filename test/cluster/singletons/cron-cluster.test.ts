import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { clusterCronGate } from "../../../src/cluster/singletons/cron-gate.ts";
import type { ScheduledController } from "../../../src/cron/index.ts";
import { VirtualClock } from "../../../src/time/clock.ts";
import { createWorkerEvents, ORPHANED_CRON_CHECK_MS } from "../../../src/worker/events.ts";
import { postgresUnavailable } from "../../support/postgres.ts";
import { threeNodeRows } from "./three-nodes.ts";
import { projectConfig } from "../../worker/helpers.ts";

const unavailable = postgresUnavailable();
const START = Date.parse("2030-01-01T00:00:00Z");

describe.skipIf(unavailable !== undefined)("a worker's cron triggers on three cluster nodes", () => {
  let pool: pg.Pool;
  const dirs: string[] = [];
  beforeAll(async () => {
    pool = await threeNodeRows("cron_cluster");
  }, 30_000);
  afterAll(async () => {
    await pool?.end();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test("each scheduled time runs once in the cluster, not once per node", async () => {
    const clock = new VirtualClock({ start: START });
    const runs: Array<{ node: string; at: string }> = [];
    const nodes = ["a", "b", "c"].map((node) => {
      const dataDir = mkdtempSync(join(tmpdir(), `hearth-cron-${node}-`));
      dirs.push(dataDir);
      const events = createWorkerEvents({
        config: projectConfig({ crons: ["0 * * * *"] }),
        handlers: { scheduled: (controller: ScheduledController) => void runs.push({ node, at: new Date(controller.scheduledTime).toISOString() }) },
        env: {},
        queueStore: undefined,
        dataDir,
        durability: "relaxed",
        clock,
        cronGate: clusterCronGate({ pool, nodeId: node }),
      });
      events.start();
      return events;
    });
    for (const hour of [1, 2, 3]) {
      await clock.advanceTo(START + hour * 3_600_000);
      for (const events of nodes) await events.cron!.idle();
    }
    expect(runs.map((run) => run.at)).toEqual(["2030-01-01T01:00:00.000Z", "2030-01-01T02:00:00.000Z", "2030-01-01T03:00:00.000Z"]);
    for (const events of nodes) await events.close();
    clock.dispose();
  });

  test("a run whose node died before finishing it is run again once, by one live node; finished runs, runs of live nodes and old ones are not", async () => {
    const cron = "*/30 * * * *";
    const at = (minutes: number): number => START + minutes * 60_000;
    const gate = (node: string) => clusterCronGate({ pool, nodeId: node });
    expect(await gate("a").claim(cron, at(0))).toBe(true);
    await gate("a").done(cron, at(0)); // finished
    expect(await gate("a").claim(cron, at(30))).toBe(true); // a dies during this one
    expect(await gate("b").claim(cron, at(60))).toBe(true); // b lives, still running it
    expect(await gate("c").claim(cron, at(90))).toBe(true); // c restarts during this one
    await pool.query(`INSERT INTO hearth.cron_claims (cron, scheduled_time, node_id, claimed_at) VALUES ($1, $2, 'a', now() - interval '2 hours')`, [cron, at(-120)]);
    await pool.query("UPDATE hearth.nodes SET state = 'dead' WHERE node_id = 'a'");
    await pool.query("UPDATE hearth.nodes SET incarnation = incarnation + 1, joined_at = now() + interval '1 millisecond' WHERE node_id = 'c'");
    const clock = new VirtualClock({ start: at(100) });
    const runs: Array<{ node: string; at: number }> = [];
    const errors: unknown[][] = [];
    const error = console.error;
    console.error = (...args: unknown[]) => void errors.push(args);
    const nodes = ["b", "c"].map((node) => {
      const dataDir = mkdtempSync(join(tmpdir(), `hearth-cron-orphans-${node}-`));
      dirs.push(dataDir);
      const events = createWorkerEvents({
        config: projectConfig({ crons: [cron] }),
        handlers: { scheduled: (controller: ScheduledController) => void runs.push({ node, at: controller.scheduledTime }) },
        env: {},
        queueStore: undefined,
        dataDir,
        durability: "relaxed",
        clock,
        cronGate: gate(node),
      });
      events.start();
      return events;
    });
    try {
      for (let i = 0; i < 3; i++) await clock.advance(ORPHANED_CRON_CHECK_MS);
      for (const events of nodes) await events.close();
    } finally {
      console.error = error;
      clock.dispose();
      await pool.query("UPDATE hearth.nodes SET state = 'alive' WHERE node_id = 'a'");
    }
    expect(runs.map((run) => run.at).sort()).toEqual([at(30), at(90)]);
    expect(errors.map((args) => String(args[0]))).toEqual(expect.arrayContaining([expect.stringContaining("was claimed by a node that died before finishing it")]));
    const { rows } = await pool.query<{ scheduled_time: string; node_id: string; done: boolean }>("SELECT scheduled_time, node_id, done FROM hearth.cron_claims WHERE cron = $1 ORDER BY scheduled_time", [cron]);
    const byTime = new Map(rows.map((row) => [Number(row.scheduled_time), row]));
    expect(byTime.get(at(-120))).toMatchObject({ node_id: "a", done: false }); // older than the window: left alone
    expect(byTime.get(at(0))).toMatchObject({ node_id: "a", done: true });
    expect(byTime.get(at(30))).toMatchObject({ node_id: runs.find((run) => run.at === at(30))!.node, done: true });
    expect(byTime.get(at(60))).toMatchObject({ node_id: "b", done: false });
    expect(byTime.get(at(90))).toMatchObject({ node_id: runs.find((run) => run.at === at(90))!.node, done: true });
  });
});
