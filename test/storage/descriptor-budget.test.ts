import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LIMITS } from "../../src/limits.ts";
import { AgentDatabase } from "../../src/storage/database.ts";
import { DESCRIPTOR_LIMIT, capFromDescriptors } from "../../src/storage/descriptor-budget.ts";
import { followDescriptorLimit, openConnectionCap, setConnectionParking } from "../../src/storage/parking.ts";
import { whenFilesSettled } from "../../src/storage/settle.ts";

const held: number[] = [];
const dirs: string[] = [];
const open: AgentDatabase[] = [];

afterEach(async () => {
  for (const fd of held.splice(0)) closeSync(fd);
  for (const db of open.splice(0)) db.close();
  setConnectionParking(LIMITS.parkIdleConnectionAfterMs);
  followDescriptorLimit();
  await whenFilesSettled();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const holdDescriptors = (count: number) => {
  for (let i = 0; i < count; i++) held.push(openSync("/dev/null", "r"));
};

describe.runIf(DESCRIPTOR_LIMIT !== undefined)("the cap on open connections, following the descriptors held", () => {
  it("leaves SQLite what the limit leaves after everything else, two descriptors a connection", () => {
    const before = capFromDescriptors(0)!;
    expect(before).toBeGreaterThan(64);
    expect(before).toBeLessThan(DESCRIPTOR_LIMIT! / 2);
    const extra = Math.min(2_000, Math.floor(DESCRIPTOR_LIMIT! / 8)); // what that many sockets would hold
    holdDescriptors(extra);
    expect(Math.abs(capFromDescriptors(0)! - (before - extra / 2))).toBeLessThanOrEqual(25);
    // Connections of ours are not counted against themselves.
    expect(Math.abs(capFromDescriptors(extra / 2)! - before)).toBeLessThanOrEqual(25);
  });

  it("is worked out again by the parking sweep", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-descriptors-"));
    dirs.push(dir);
    holdDescriptors(Math.min(1_000, Math.floor(DESCRIPTOR_LIMIT! / 8)));
    followDescriptorLimit(5);
    expect(openConnectionCap()).toBe(5);
    setConnectionParking(50);
    open.push(new AgentDatabase({ path: join(dir, "a.sqlite"), durability: "relaxed", identity: "d/a", currentOwner: () => undefined }));
    for (let tries = 0; openConnectionCap() === 5 && tries < 100; tries++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(Math.abs(openConnectionCap() - capFromDescriptors(1)!)).toBeLessThanOrEqual(25);
  });
});
