/**
 * A real crash: a child process runs a Hearth host whose agents are mid-fiber; it is killed with
 * SIGKILL and started again on the same data directory. Without any request, the new process wakes
 * each agent that had a fiber running and onFiberRecovered gets its last checkpoint; finished fibers
 * are not recovered, and recovered ones are not recovered again at the next start.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { killChildren, startChild, type Child } from "../support/child.ts";
import type { Report } from "./fixtures/crash-child.ts";

const CHILD = fileURLToPath(new URL("./fixtures/crash-child.ts", import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), "hearth-fiber-crash-"));
const WAIT_MS = 15_000;

afterAll(() => {
  killChildren();
  rmSync(dataDir, { recursive: true, force: true });
});

function start(generation: number): Promise<Child> {
  return startChild(CHILD, [dataDir, String(generation)]);
}

async function post(child: Child, path: string): Promise<Response> {
  const response = await fetch(`${child.url}/agents/worker/${path}`, { method: "POST", signal: AbortSignal.timeout(10_000) });
  expect(response.status, await response.clone().text()).toBe(200);
  return response;
}

async function report(child: Child, agent: string): Promise<Report> {
  const response = await fetch(`${child.url}/agents/worker/${agent}/report`, { signal: AbortSignal.timeout(10_000) });
  expect(response.status).toBe(200);
  return (await response.json()) as Report;
}

/** The first stdout line matching `pattern`, printed already or within WAIT_MS. */
async function line(child: Child, pattern: RegExp): Promise<string> {
  const found = child.lines.find((l) => pattern.test(l)) ?? (await child.nextLine(pattern, WAIT_MS));
  expect(found, `no line matching ${pattern} within ${WAIT_MS} ms; stdout:\n${child.lines.join("\n")}\nstderr:\n${child.stderr()}`).not.toBeNull();
  return found!;
}

describe("fibers across SIGKILL", () => {
  it("recovers every interrupted fiber after a kill, with no request to wake the agents", { timeout: 60_000 }, async () => {
    const first = await start(1);
    await post(first, "a/begin?steps=3");
    await post(first, "b/begin?steps=5");
    await post(first, "c/accept?key=delivery-7");
    await post(first, "d/quick"); // ended before the kill: nothing to recover
    // Killed mid-fiber, after several checkpoints (and several of the host's wake-ups, 200 ms apart).
    await Promise.all([line(first, /^STASHED a 3$/), line(first, /^STASHED b 5$/), line(first, /^STASHED c 1$/)]);
    first.proc.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");

    const second = await start(2);
    // No request is sent: the host wakes the agents from its due index.
    const recovered = await Promise.all([
      line(second, /^RECOVERED a /),
      line(second, /^RECOVERED b /),
      line(second, /^RECOVERED c /),
    ]);
    expect(recovered).toEqual([
      'RECOVERED a job {"step":3} -',
      'RECOVERED b job {"step":5} -',
      'RECOVERED c webhook {"key":"delivery-7"} interrupted',
    ]);
    expect(second.lines.filter((l) => l.startsWith("RECOVERED"))).toHaveLength(3);
    expect(await report(second, "a")).toEqual({ recovered: [{ name: "job", snapshot: '{"step":3}', status: null, generation: 2 }], fibers: [] });
    expect(await report(second, "c")).toEqual({
      recovered: [{ name: "webhook", snapshot: '{"key":"delivery-7"}', status: "interrupted", generation: 2 }],
      fibers: [{ name: "webhook", status: "interrupted" }], // a startFiber record is kept
    });
    expect(await report(second, "d")).toEqual({ recovered: [], fibers: [] });
    second.proc.kill("SIGKILL");
    await second.exited;

    // Recovered once is recovered for good: the next start (here woken by the reports) hands nothing over.
    const third = await start(3);
    for (const agent of ["a", "b", "c", "d"]) {
      expect((await report(third, agent)).recovered.filter((r) => r.generation === 3)).toEqual([]);
    }
    expect(third.lines.filter((l) => l.startsWith("RECOVERED"))).toEqual([]);
    third.proc.kill("SIGTERM");
    expect(await third.exited).toEqual({ code: 0, signal: null });
  });
});
