import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { clusterCronGate } from "../../../src/cluster/singletons/cron-gate.ts";
import { VirtualClock } from "../../../src/time/clock.ts";
import { createWorkerEvents } from "../../../src/worker/events.ts";
import { projectConfig } from "../../worker/helpers.ts";
import { postgresUnavailable } from "../../support/postgres.ts";
import { threeNodeRows } from "./three-nodes.ts";

const unavailable = postgresUnavailable();

describe.skipIf(unavailable !== undefined)("cron triggers once per cluster", () => {
  let pool: pg.Pool;
  beforeAll(async () => {
    pool = await threeNodeRows("crons");
  }, 30_000);
  afterAll(async () => {
    await pool?.end();
  });

  test("of nodes claiming one scheduled time at once, exactly one runs it; its retry passes, others never", async () => {
    const gates = ["a", "b", "c"].map((nodeId) => clusterCronGate({ pool, nodeId }));
    const claims = await Promise.all(gates.map((gate) => gate.claim("*/5 * * * *", 1_000)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    const winner = gates[claims.indexOf(true)]!;
    expect(await winner.claim("*/5 * * * *", 1_000)).toBe(true); // a retry of a failed run
    expect(await gates[(claims.indexOf(true) + 1) % 3]!.claim("*/5 * * * *", 1_000)).toBe(false);
    expect(await gates[0]!.claim("*/5 * * * *", 2_000)).toBe(true); // the next time is a new claim
    expect(await gates[1]!.claim("0 9 * * MON", 1_000)).toBe(true); // another trigger, the same time
  });

  test("a run whose node died before it finished is run again by another; a finished one never", async () => {
    const a = clusterCronGate({ pool, nodeId: "a" });
    const b = clusterCronGate({ pool, nodeId: "b" });
    expect(await a.claim("@hourly", 10)).toBe(true);
    expect(await a.claim("@hourly", 20)).toBe(true);
    await a.done("@hourly", 20);
    await pool.query("UPDATE hearth.nodes SET state = 'dead' WHERE node_id = 'a'");
    expect(await b.claim("@hourly", 10)).toBe(true); // a died mid-run: at least once
    expect(await b.claim("@hourly", 20)).toBe(false); // finished: a late node catching up does not run it again
    await pool.query("UPDATE hearth.nodes SET state = 'alive' WHERE node_id = 'a'");
  });

  test("a failed run keeps its claim, so its retry a minute later runs it again", async () => {
    const clock = new VirtualClock({ start: Date.parse("2025-01-01T09:59:30Z") });
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-cron-gate-"));
    const attempts: number[] = [];
    const events = createWorkerEvents({
      config: projectConfig({ crons: ["0 * * * *"] }),
      handlers: {
        scheduled: (async (controller: { scheduledTime: number }) => {
          attempts.push(controller.scheduledTime);
          if (attempts.length === 1) throw new Error("transient failure");
        }) as never,
      },
      env: {},
      queueStore: undefined,
      dataDir,
      durability: "relaxed",
      clock,
      cronGate: clusterCronGate({ pool, nodeId: "a" }),
    });
    const error = console.error;
    console.error = () => {}; // the failure is logged, as it should be
    try {
      events.start();
      await clock.advance("1 minute"); // 10:00: the run fails
      await events.cron!.idle();
      await clock.advance("2 minutes"); // its retry is due a minute later
      await events.cron!.idle();
    } finally {
      console.error = error;
      await events.close();
      clock.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    }
    expect(attempts).toEqual([Date.parse("2025-01-01T10:00:00Z"), Date.parse("2025-01-01T10:00:00Z")]);
  });
});
