/**
 * Many idle facets under one parent: they hibernate like any actor (the host keeps none of them in
 * memory) and wake on their next use with their data. The data directory is on tmpfs when there is
 * one: this is about the host's bookkeeping, and 1,000 file creations on a slow disk take a minute.
 * 200 facets (10 batches) make the same claim as 1,000 at a fifth of the cost; HEARTH_SOAK=1 runs 1,000.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Harness } from "../support/harness.ts";
import { startFacetHarness, supervisorOf } from "./support.ts";

const FACETS = process.env.HEARTH_SOAK === "1" ? 1_000 : 200;
/** Facets called at once; also the live cap of the LRU test, so ten batches overflow it ten times. */
const BATCH = FACETS / 10;
const names = Array.from({ length: FACETS }, (_, i) => `tenant-${i}`);

let harness: Harness | undefined;
let dataDir: string | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

async function start(options: { maxLiveAgents: number }): Promise<Harness> {
  dataDir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "hearth-facets-hibernate-"));
  return startFacetHarness({ dataDir, hibernateAfterMs: 3_600_000, ...options });
}

/** Calls `method` on every facet, {@link BATCH} at a time; the values in order. */
async function onEvery(sup: ReturnType<typeof supervisorOf>, method: "add" | "notes"): Promise<unknown[]> {
  const values: unknown[] = [];
  for (let i = 0; i < FACETS; i += BATCH) {
    const batch = await sup.callMany(names.slice(i, i + BATCH).map((name) => ({ name, method, args: method === "add" ? [name] : [] })));
    for (const { ok, value } of batch) values.push(ok ? value : `failed: ${String(value)}`);
  }
  return values;
}

describe("facet hibernation", () => {
  it(`hibernates ${FACETS} idle facets of one parent and wakes each with its data on use`, { timeout: 120_000 }, async () => {
    harness = await start({ maxLiveAgents: 10_000 });
    const sup = supervisorOf(harness.host);
    expect(await onEvery(sup, "add")).toEqual(names.map(() => 1));
    expect(harness.host.stats.liveAgents).toBe(FACETS + 1);

    expect(harness.host.hibernateIdleAgents()).toBe(FACETS + 1);
    expect(harness.host.stats.liveAgents).toBe(0);

    expect(await onEvery(sup, "notes")).toEqual(names.map((name) => [name]));
    expect(harness.host.stats.liveAgents).toBe(FACETS + 1);
    harness.host.hibernateIdleAgents();
    expect(harness.host.stats.liveAgents).toBe(0);
  });

  it("hibernates the least recently used facets when over maxLiveAgents, the busy parent staying", { timeout: 120_000 }, async () => {
    harness = await start({ maxLiveAgents: BATCH });
    const sup = supervisorOf(harness.host);
    // Only idle actors are shed: the cap may be passed by the busy parent and the batch in flight.
    const bound = BATCH + 1 + BATCH;
    expect(await onEvery(sup, "add")).toEqual(names.map(() => 1));
    expect(harness.host.stats.liveAgents).toBeLessThanOrEqual(bound);
    expect(await onEvery(sup, "notes")).toEqual(names.map((name) => [name]));
    expect(harness.host.stats.liveAgents).toBeLessThanOrEqual(bound);
  });
});
