/**
 * Team runs survive kill -9: a run is killed at each of its steps in turn (a member kills the whole
 * process as it starts), a process is started again on the same data, and the run finishes by
 * itself — every step that had finished before the kill is never run again.
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

const CHILD = fileURLToPath(new URL("./fixtures/crash-child.ts", import.meta.url));
const MEMBERS = ["plan", "web", "papers", "notes1", "notes2", "writer", "review"];
const KILL_AT = ["plan", "papers", "notes2", "writer", "review"];
const dirs: string[] = [];

afterAll(() => {
  killChildren();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function status(url: string, id: string): Promise<{ status: string; output: unknown }> {
  return (await (await fetch(`${url}/agents/desk/d/status?id=${id}`)).json()) as { status: string; output: unknown };
}

/** What the process killed at one step left: its data, its calls log, how it ended. */
interface Killed {
  place: string;
  log: string;
  exit: { code: number | null; signal: NodeJS.Signals | null };
  beforeKill: string[];
  /** Whether the start was acknowledged before the kill. */
  acknowledged: boolean;
}

describe("team runs after kill -9", () => {
  const killed = new Map<string, Killed>();
  let resumer: Child;
  let urls: string[] = [];

  beforeAll(async () => {
    for (const killAt of KILL_AT) {
      const dir = mkdtempSync(join(tmpdir(), "hearth-team-crash-"));
      dirs.push(dir);
      const log = join(dir, "calls.log");
      writeFileSync(log, "");
      const place = `${join(dir, "data")}=${log}`;
      const first = await startChild(CHILD, ["1", killAt, place]);
      const started = fetch(`${first.url}/agents/desk/d/start?id=r1`, { method: "POST" }).then((r) => r.json()).catch(() => null);
      const exit = await first.exited;
      const beforeKill = readFileSync(log, "utf8").split("\n").filter(Boolean);
      // The start was acknowledged only once the run was recorded; a kill before that loses nothing acknowledged.
      killed.set(killAt, { place, log, exit, beforeKill, acknowledged: (await started) !== null });
    }
    resumer = await startChild(CHILD, ["2", "-", ...KILL_AT.map((killAt) => killed.get(killAt)!.place)]);
    urls = resumer.url.split(" ");
  }, 180_000);

  afterAll(async () => {
    resumer?.proc.kill("SIGKILL");
    await resumer?.exited;
  });

  it.each(KILL_AT)("resume after a kill at %s, running no finished step again", async (killAt) => {
    const { log, exit, beforeKill, acknowledged } = killed.get(killAt)!;
    expect(exit.signal).toBe("SIGKILL");
    const url = urls[KILL_AT.indexOf(killAt)]!;
    if (!acknowledged) await fetch(`${url}/agents/desk/d/start?id=r1`, { method: "POST" });
    // Generous bounds: the machine may be busy.
    const deadline = Date.now() + 90_000;
    let current = await status(url, "r1");
    while (current.status !== "completed" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      current = await status(url, "r1");
    }
    expect(current).toMatchObject({ status: "completed", output: "review(writer(web(plan(topic))+papers(plan(topic))+notes2(notes1(plan(topic)))))" });
    const calls = readFileSync(log, "utf8").split("\n").filter(Boolean).map((line) => line.split(" ")[0]!);
    // Every member worked exactly once over both processes: finished steps were not redone.
    expect(calls.sort()).toEqual([...MEMBERS].sort());
    expect(beforeKill.length).toBeLessThan(MEMBERS.length);
  }, 180_000);
});
