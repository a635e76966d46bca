/**
 * Facets across kill -9: a child process writes to several facets of one parent and prints each write
 * once its call returned; it is killed with SIGKILL mid-write, twice. A new host on the same data
 * directory has every acknowledged write, and a facet's alarm set before the kills fires after them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { Host, VirtualClock } from "../../src/index.ts";
import { killChildren, startChild, type Child } from "../support/child.ts";
import { events, facetClasses } from "./fixtures/tenants.ts";
import { supervisorOf, until } from "./support.ts";

// `events` is shared by every file using the tenants fixture (and one worker runs many files).
beforeEach(() => {
  events.length = 0;
});

const CHILD = fileURLToPath(new URL("./fixtures/crash-child.ts", import.meta.url));
const FACETS = ["f0", "f1", "f2", "f3", "f4"];
const ALARM_IN_MS = 600_000;
const dirs: string[] = [];

afterAll(() => {
  killChildren();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs one round: waits for `acks` acknowledged writes (more keep coming), then SIGKILLs the child. */
async function round(dir: string, n: number, acks: number, extra: string[] = []): Promise<Child> {
  const child = await startChild(CHILD, [dir, String(n), ...extra]);
  const deadline = Date.now() + 20_000;
  while (child.lines.filter((line) => line.startsWith("ACK ")).length < acks) {
    if (Date.now() > deadline) throw new Error(`round ${n}: too few writes acknowledged; stderr:\n${child.stderr()}`);
    await child.nextLine(/^ACK /, 1_000);
  }
  child.proc.kill("SIGKILL");
  expect((await child.exited).signal, `the child died on its own; stderr:\n${child.stderr()}`).toBe("SIGKILL");
  return child;
}

describe("facets across SIGKILL", () => {
  it("keeps every acknowledged write of every facet, and fires a facet's alarm set before the kills", { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-facets-crash-"));
    dirs.push(dir);
    const first = await round(dir, 1, 150, [String(ALARM_IN_MS)]);
    const armedAt = Number(first.lines.find((line) => line.startsWith("ARMED "))!.split(" ")[1]);
    const second = await round(dir, 2, 150);

    const acked = new Map(FACETS.map((facet) => [facet, new Set<string>()]));
    for (const line of [...first.lines, ...second.lines]) {
      const [kind, facet, id] = line.split(" ");
      if (kind === "ACK") acked.get(facet!)!.add(id!);
    }

    const clock = new VirtualClock({ start: Date.now() });
    const host = new Host({ dataDir: dir, agents: {}, durableObjects: facetClasses, clock });
    try {
      const sup = supervisorOf(host);
      const missing: string[] = [];
      let total = 0;
      for (const facet of FACETS) {
        const stored = new Set((await sup.call(facet, "notes")) as string[]);
        for (const id of acked.get(facet)!) {
          total++;
          if (!stored.has(id)) missing.push(`${facet}:${id}`);
        }
      }
      expect(missing).toEqual([]);
      expect(total).toBeGreaterThanOrEqual(300);

      host.hibernateIdleAgents();
      expect(events).toEqual([]);
      await clock.advanceTo(armedAt + 1_000);
      await host.tasksIdle();
      await until(() => events.length > 0, "the facet's alarm");
      expect(events).toEqual(["alarm alarmed"]);
      expect(await sup.call("alarmed", "notes")).toEqual(["alarm fired"]);
    } finally {
      await host.close();
    }
  });
});
