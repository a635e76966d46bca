import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cleanEnv, cleanup, freePort, requireBuild, runCli, tempDir, type CliProcess } from "../cli/helpers.ts";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.ts";
import { until } from "./support/until.ts";

/**
 * A cron run whose node is killed in the middle of it, on two node processes (`hearth start
 * --cluster`): the other node runs it again, once. The nodes' wall clocks are set a few seconds
 * before a minute, so `* * * * *` fires soon after they start.
 */
const unavailable = postgresUnavailable();
const SKEWED_CLOCK = pathToFileURL(join(import.meta.dirname, "fixtures", "skewed-clock.mjs")).href;
/** How long the handler runs. */
const RUN_MS = 6_000;

const APP = `export default {
  async fetch() { return new Response("cron app"); },
  async scheduled(controller) {
    console.error("cron-run-start " + controller.scheduledTime);
    await new Promise((resolve) => setTimeout(resolve, ${RUN_MS}));
    console.error("cron-run-end " + controller.scheduledTime);
  },
};
`;

describe.skipIf(unavailable !== undefined)("a cron run whose node dies mid-run", () => {
  let connectionString: string;
  let project: string;
  const nodes = new Map<string, CliProcess>();

  const startNode = async (id: string, skewMs: number): Promise<void> => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = cleanEnv({ NODE_OPTIONS: `--import ${SKEWED_CLOCK}`, HEARTH_TEST_CLOCK_SKEW_MS: String(skewMs) });
    const cli = runCli(["start", project, "--port", String(port), "--data", await tempDir(`hearth-cron-${id}-`), "--cluster", connectionString, "--node-id", id, "--advertise", url, "--no-traces", "--no-metrics", "--log-level", "warn"], { env });
    await cli.ready();
    nodes.set(id, cli);
  };

  beforeAll(async () => {
    requireBuild();
    connectionString = await (await sharedPostgres()).database("cron_failover");
    project = await tempDir("hearth-cron-app-");
    await writeFile(join(project, "app.mjs"), APP);
    await writeFile(join(project, "wrangler.jsonc"), JSON.stringify({ name: "cron-app", main: "app.mjs", compatibility_date: "2025-01-01", triggers: { crons: ["* * * * *"] } }));
  }, 30_000);
  afterAll(async () => {
    await cleanup();
  }, 30_000);

  test("the other node runs it again, once, and records it done", async () => {
    // Both clocks read 20 s before a minute now: the first run is due shortly after both are up.
    const skewMs = 40_000 - (Date.now() % 60_000);
    await startNode("a", skewMs);
    await startNode("b", skewMs);
    const started = await Promise.any([...nodes].map(async ([id, cli]) => ({ id, at: (await cli.waitFor(/cron-run-start (\d+)/))[1]! })));
    const runner = nodes.get(started.id)!;
    const [otherId, other] = [...nodes].find(([id]) => id !== started.id)!;
    runner.proc.kill("SIGKILL");
    await runner.exited();
    const killedAt = performance.now();
    await other.waitFor(new RegExp(`cron-run-start ${started.at}`));
    const rerunMs = performance.now() - killedAt;
    await other.waitFor(new RegExp(`cron-run-end ${started.at}`));
    const db = new pg.Client({ connectionString });
    await db.connect();
    try {
      // The run's end is logged by the handler; the claim is marked done after it returns.
      const read = async () => (await db.query<{ node_id: string; done: boolean }>("SELECT node_id, done FROM hearth.cron_claims WHERE scheduled_time = $1", [started.at])).rows;
      const rows = await until("the re-run's claim", read, (claims) => claims.some((claim) => claim.done));
      expect(rows).toEqual([{ node_id: otherId, done: true }]);
    } finally {
      await db.end();
    }
    expect(other.output().match(new RegExp(`cron-run-start ${started.at}`, "g"))).toHaveLength(1);
    console.log(`cron run of ${new Date(Number(started.at)).toISOString()} on ${started.id}, killed mid-run: run again by ${otherId} after ${rerunMs.toFixed(0)} ms`);
  }, 90_000);
});
