/**
 * Every pattern survives kill -9 at its exact step: a member (or the model's Nth call) kills the
 * process as it starts; the next process finishes the run, and the calls log shows that nothing that
 * had finished — a member's work or a model's answer — was done again.
 *
 * Each kill has a process and a data directory of its own; one process then resumes all of them, a
 * host per data directory (a Node process and its runtime cost a second of CPU to start, and what
 * the resume proves does not depend on how many hosts share it).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killChildren, startChild, type Child } from "../support/child.ts";

const CHILD = fileURLToPath(new URL("./fixtures/patterns-child.ts", import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  killChildren();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Case {
  team: string;
  input: string;
  killAt: string;
  /** Every call the finished run made, each exactly once across both processes. */
  calls: string[];
  output: unknown;
}

const CASES: Case[] = [
  { team: "route", input: "refund my invoice please", killAt: "billing", calls: ["model", "billing"], output: "billing(refund my invoice please)" },
  { team: "loop", input: "", killAt: "iterate-3", calls: ["iterate", "iterate", "iterate", "iterate"], output: 4 },
  { team: "fallback", input: "q", killAt: "backup", calls: ["primary", "backup"], output: "backup(q)" },
  { team: "map", input: "a,b,c,d", killAt: "item-3", calls: ["item", "item", "item", "item"], output: ["item(a)", "item(b)", "item(c)", "item(d)"] },
  { team: "supervisor", input: "What is the weather forecast in Paris?", killAt: "model-2", calls: ["model", "weather", "model"], output: undefined },
  { team: "handoff", input: "I need a refund", killAt: "billing", calls: ["triage", "billing"], output: "billing(I need a refund)" },
];

async function status(url: string, id: string): Promise<{ status: string; output: unknown }> {
  return (await (await fetch(`${url}/agents/owner/o/status?id=${id}`)).json()) as { status: string; output: unknown };
}

const query = (c: Case) => `team=${c.team}&id=r1&input=${encodeURIComponent(c.input)}`;

describe("every team pattern after kill -9", () => {
  /** What the process killed in each case left: its calls log, how it ended, whether its start was acknowledged. */
  const killed = new Map<Case, { log: string; exit: { code: number | null; signal: NodeJS.Signals | null }; acknowledged: boolean }>();
  let resumer: Child;
  let urls: string[] = [];

  beforeAll(async () => {
    const places: string[] = [];
    for (const c of CASES) {
      const dir = mkdtempSync(join(tmpdir(), "hearth-team-patterns-"));
      dirs.push(dir);
      const log = join(dir, "calls.log");
      writeFileSync(log, "");
      const place = `${c.team}=${join(dir, "data")}=${log}`;
      places.push(place);
      const first = await startChild(CHILD, ["1", c.killAt, place]);
      const started = fetch(`${first.url}/agents/owner/o/start?${query(c)}`, { method: "POST" }).then((r) => r.json()).catch(() => null);
      const exit = await first.exited;
      killed.set(c, { log, exit, acknowledged: (await started) !== null });
    }
    resumer = await startChild(CHILD, ["2", "-", ...places]);
    urls = resumer.url.split(" ");
  }, 180_000);

  afterAll(async () => {
    resumer?.proc.kill("SIGKILL");
    await resumer?.exited;
  });

  it.each(CASES)("$team: killed at $killAt, resumed at that step, nothing finished done twice", async (c) => {
    const { log, exit, acknowledged } = killed.get(c)!;
    expect(exit.signal).toBe("SIGKILL");
    const url = urls[CASES.indexOf(c)]!;
    if (!acknowledged) await fetch(`${url}/agents/owner/o/start?${query(c)}`, { method: "POST" });
    const deadline = Date.now() + 90_000;
    let current = await status(url, "r1");
    while (current.status !== "completed" && current.status !== "failed" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      current = await status(url, "r1");
    }
    expect(current.status).toBe("completed");
    if (c.output !== undefined) expect(current.output).toEqual(c.output);
    const calls = readFileSync(log, "utf8").split("\n").filter(Boolean);
    expect(calls).toEqual(c.calls);
  }, 180_000);
});
