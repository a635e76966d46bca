import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { clusterCronGate } from "../../../src/cluster/singletons/cron-gate.ts";
import type { ScheduledController } from "../../../src/cron/index.ts";
import { VirtualClock } from "../../../src/time/clock.ts";
import { createWorkerEvents } from "../../../src/worker/events.ts";
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
});
