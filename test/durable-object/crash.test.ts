/**
 * Plain Durable Objects across kill -9: a child process serves them, is killed with SIGKILL and is
 * started again on the same data directory. Alarms set before the kill run in the new process with
 * no request to wake their objects, an alarm cut off mid-run runs again, and every write the client
 * saw acknowledged is still there.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { killChildren, startChild, type Child } from "../support/child.ts";
import type { Report } from "./fixtures/crash-child.ts";

const CHILD = fileURLToPath(new URL("./fixtures/crash-child.ts", import.meta.url));
const WAIT_MS = 15_000;
const dirs: string[] = [];

afterAll(() => {
  killChildren();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hearth-do-crash-"));
  dirs.push(dir);
  return dir;
}

/** A child loads the whole source tree through tsx: slow on a busy machine, hence the generous wait. */
function start(dir: string, generation: number): Promise<Child> {
  return startChild(CHILD, [dir, String(generation)], { readyMs: 60_000 });
}

async function post(child: Child, path: string): Promise<void> {
  const response = await fetch(`${child.url}/keepers/${path}`, { method: "POST", signal: AbortSignal.timeout(10_000) });
  expect(response.status, await response.clone().text()).toBe(200);
  await response.text();
}

async function report(child: Child, name: string): Promise<Report> {
  const response = await fetch(`${child.url}/keepers/${name}/report`, { signal: AbortSignal.timeout(10_000) });
  expect(response.status).toBe(200);
  return (await response.json()) as Report;
}

async function kill(child: Child): Promise<void> {
  child.proc.kill("SIGKILL");
  expect((await child.exited).signal, `the child died on its own; stderr:\n${child.stderr()}`).toBe("SIGKILL");
}

/** The first stdout line matching `pattern`, printed already or within WAIT_MS. */
async function line(child: Child, pattern: RegExp): Promise<string> {
  const found = child.lines.find((l) => pattern.test(l)) ?? (await child.nextLine(pattern, WAIT_MS));
  expect(found, `no line matching ${pattern} within ${WAIT_MS} ms; stdout:\n${child.lines.join("\n")}\nstderr:\n${child.stderr()}`).not.toBeNull();
  return found!;
}

describe("Durable Objects across SIGKILL", () => {
  it("runs an alarm set before the kill in the next process, with no request to wake the object", { timeout: 180_000 }, async () => {
    const dir = dataDir();
    const first = await start(dir, 1);
    const armedAt = Date.now();
    await post(first, "soon/alarm?in=1500");
    await post(first, "later/alarm?in=3600000");
    await kill(first);

    const second = await start(dir, 2);
    await line(second, /^ALARM soon 2$/);
    expect(await report(second, "soon")).toEqual({ log: [], alarms: [2], alarmAt: null });
    const later = await report(second, "later");
    expect(later.alarms).toEqual([]);
    expect(later.alarmAt).toBeGreaterThanOrEqual(armedAt + 3_600_000);
    second.proc.kill("SIGTERM");
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });

  it("runs an alarm again when the process died while it ran (at least once)", { timeout: 180_000 }, async () => {
    const dir = dataDir();
    const first = await start(dir, 1);
    await post(first, "hung/hang");
    await post(first, "hung/alarm?in=50");
    await line(first, /^ALARM-START hung 1$/);
    await kill(first);

    const second = await start(dir, 2);
    await line(second, /^ALARM hung 2$/);
    expect(await report(second, "hung")).toEqual({ log: [], alarms: [2], alarmAt: null });
    second.proc.kill("SIGTERM");
    await second.exited;
  });

  it("keeps every write acknowledged before a kill, over several kills under load", { timeout: 360_000 }, async () => {
    const dir = dataDir();
    const names = ["w0", "w1", "w2", "w3"];
    const acked = new Map(names.map((name) => [name, new Set<string>()]));
    let requests = 0;
    for (let round = 1; round <= 4; round++) {
      const child = await start(dir, round);
      let running = true;
      const loops = Array.from({ length: 6 }, async (_, loop) => {
        for (let seq = 0; running; seq++) {
          const name = names[(loop + seq) % names.length]!;
          const id = `r${round}-l${loop}-${seq}`;
          requests++;
          try {
            const response = await fetch(`${child.url}/keepers/${name}/append?id=${id}`, { method: "POST", signal: AbortSignal.timeout(10_000) });
            if (response.status === 200 && (await response.text()) === "ok") acked.get(name)!.add(id);
          } catch {
            // cut off by the kill: not acknowledged
          }
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.floor(Math.random() * 300)));
      await kill(child);
      running = false;
      await Promise.all(loops);
    }

    const final = await start(dir, 99);
    const missing: string[] = [];
    let total = 0;
    for (const name of names) {
      const log = new Set((await report(final, name)).log);
      for (const id of acked.get(name)!) {
        total++;
        if (!log.has(id)) missing.push(`${name}:${id}`);
      }
    }
    expect(missing).toEqual([]);
    expect(total).toBeGreaterThan(0);
    expect(requests).toBeGreaterThan(total); // some were cut off by the kills
    final.proc.kill("SIGTERM");
    await final.exited;
  });
});
