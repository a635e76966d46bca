import { join } from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cleanEnv, cleanup, freePort, requireBuild, runCli, tempDir, type CliProcess } from "../cli/helpers.ts";
import { postgresUnavailable, sharedPostgres, type TestPostgres } from "../support/postgres.ts";
import { formatReport } from "./support/checker.ts";
import { createHistoryRecorder } from "./support/recorder.ts";

/**
 * Nodes whose wall clocks disagree by a minute (one 30 s ahead, one 30 s behind): ownership, fencing
 * and failover rest on lease epochs, Postgres's own clock and each node's monotonic clock, never on
 * the nodes' wall clocks — so a history across a kill -9 of the owner is still valid and the other
 * node takes over.
 */
const unavailable = postgresUnavailable();
const APP = join(import.meta.dirname, "fixtures", "list-app.ts");
const SKEWED_CLOCK = pathToFileURL(join(import.meta.dirname, "fixtures", "skewed-clock.mjs")).href;
const AGENTS = ["skew0", "skew1", "skew2"];

describe.skipIf(unavailable !== undefined)("cluster nodes with skewed wall clocks", () => {
  let server: TestPostgres;
  let connectionString: string;
  const nodes: Array<{ id: string; url: string; cli: CliProcess }> = [];

  const startNode = async (id: string, skewMs: number): Promise<void> => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = cleanEnv({ NODE_OPTIONS: `--import ${SKEWED_CLOCK}`, HEARTH_TEST_CLOCK_SKEW_MS: String(skewMs) });
    const cli = runCli(["start", APP, "--port", String(port), "--data", await tempDir(`hearth-skew-${id}-`), "--cluster", connectionString, "--node-id", id, "--advertise", url, "--no-traces", "--no-metrics", "--log-level", "warn"], { env });
    await cli.ready();
    nodes.push({ id, url, cli });
  };

  beforeAll(async () => {
    requireBuild();
    server = await sharedPostgres();
    connectionString = await server.database("clock_skew");
    await startNode("ahead", 30_000);
    await startNode("behind", -30_000);
  }, 60_000);
  afterAll(async () => {
    await cleanup();
  }, 30_000);

  test("a kill -9 of the owner leaves a valid history, and the other node takes its agents over", async () => {
    const db = new pg.Client({ connectionString });
    await db.connect();
    try {
      const recorder = createHistoryRecorder();
      const append = async (url: string, name: string, value: string): Promise<unknown> => {
        const response = await fetch(`${url}/agents/list-agent/${name}?value=${value}`, { method: "POST", signal: AbortSignal.timeout(3_000) });
        if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
        return response.json();
      };
      const read = async (url: string, name: string): Promise<string[]> => {
        const response = await fetch(`${url}/agents/list-agent/${name}`, { signal: AbortSignal.timeout(3_000) });
        if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
        return (await response.json()) as string[];
      };
      // Each node's own agent answers with that node's wall clock: a minute apart.
      const clock = async (node: { id: string; url: string }): Promise<number> => (await (await fetch(`${node.url}/agents/list-agent/clock-${node.id}?clock`)).json()) as number;
      const [ahead, behind] = [await clock(nodes[0]!), await clock(nodes[1]!)];
      expect(ahead - behind).toBeGreaterThan(50_000);
      // Both nodes write every agent: each request lands on whichever node it is sent to.
      for (let i = 0; i < 12; i++) {
        const node = nodes[i % 2]!;
        await recorder.append(AGENTS[i % AGENTS.length]!, `before-${i}`, () => append(node.url, AGENTS[i % AGENTS.length]!, `before-${i}`));
      }
      const owners = await db.query<{ owner: string }>(`SELECT owner FROM hearth.actor_lease WHERE actor_id = ANY($1)`, [AGENTS.map((name) => `list-agent/${name}`)]);
      expect(owners.rows).toHaveLength(AGENTS.length);
      const victim = nodes.find((node) => node.id === owners.rows[0]!.owner)!;
      const survivor = nodes.find((node) => node !== victim)!;
      victim.cli.proc.kill("SIGKILL");
      // Through the survivor only: it claims each agent once the victim's membership has lapsed.
      for (let i = 0; i < 12; i++) {
        const name = AGENTS[i % AGENTS.length]!;
        await recorder.append(name, `after-${i}`, () => append(survivor.url, name, `after-${i}`));
      }
      const finals = new Map<string, string[]>();
      for (const name of AGENTS) finals.set(name, await read(survivor.url, name));
      const report = recorder.check(finals);
      console.log(`[clock skew] ${victim.id} killed; ${formatReport(report)}`);
      expect(report.anomalies).toBe(0);
      expect(report.counts.ok).toBeGreaterThanOrEqual(12);
      const after = await db.query<{ owner: string }>(`SELECT DISTINCT owner FROM hearth.actor_lease WHERE actor_id = ANY($1)`, [AGENTS.map((name) => `list-agent/${name}`)]);
      expect(after.rows.map((row) => row.owner)).toEqual([survivor.id]);
    } finally {
      await db.end();
    }
  }, 60_000);
});
