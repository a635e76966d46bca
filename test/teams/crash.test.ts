/**
 * Team runs survive kill -9: a run is killed at each of its steps in turn (a member kills the whole
 * process as it starts), the process is started again on the same data, and the run finishes by
 * itself — every step that had finished before the kill is never run again.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { killChildren, startChild } from "../support/child.ts";

const CHILD = fileURLToPath(new URL("./fixtures/crash-child.ts", import.meta.url));
const MEMBERS = ["plan", "web", "papers", "notes1", "notes2", "writer", "review"];
const dirs: string[] = [];

afterAll(() => {
  killChildren();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function status(url: string, id: string): Promise<{ status: string; output: unknown }> {
  return (await (await fetch(`${url}/agents/desk/d/status?id=${id}`)).json()) as { status: string; output: unknown };
}

describe("team runs after kill -9", () => {
  it.each(["plan", "papers", "notes2", "writer", "review"])("resume after a kill at %s, running no finished step again", async (killAt) => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-team-crash-"));
    dirs.push(dir);
    const log = join(dir, "calls.log");
    writeFileSync(log, "");
    const first = await startChild(CHILD, [join(dir, "data"), log, "1", killAt]);
    const started = fetch(`${first.url}/agents/desk/d/start?id=r1`, { method: "POST" }).then((r) => r.json()).catch(() => null);
    const exit = await first.exited;
    expect(exit.signal).toBe("SIGKILL");
    const beforeKill = readFileSync(log, "utf8").split("\n").filter(Boolean);
    // The start was acknowledged only once the run was recorded; a kill before that loses nothing acknowledged.
    const acknowledged = await started;

    const second = await startChild(CHILD, [join(dir, "data"), log, "2", killAt]);
    if (acknowledged === null) await fetch(`${second.url}/agents/desk/d/start?id=r1`, { method: "POST" });
    // Generous bounds: two Node processes start per case, and the machine may be busy.
    const deadline = Date.now() + 90_000;
    let current = await status(second.url, "r1");
    while (current.status !== "completed" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      current = await status(second.url, "r1");
    }
    expect(current).toMatchObject({ status: "completed", output: "review(writer(web(plan(topic))+papers(plan(topic))+notes2(notes1(plan(topic)))))" });
    const calls = readFileSync(log, "utf8").split("\n").filter(Boolean).map((line) => line.split(" ")[0]!);
    // Every member worked exactly once over both processes: finished steps were not redone.
    expect(calls.sort()).toEqual([...MEMBERS].sort());
    expect(beforeKill.length).toBeLessThan(MEMBERS.length);
    second.proc.kill("SIGKILL");
    await second.exited;
  }, 180_000);
});
