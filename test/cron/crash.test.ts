/**
 * Cron triggers across kill -9: the record of a run survives, a run missed while the process was
 * down runs once at the next start, and a run cut short by the kill runs again.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { killChildren, startChild } from "../support/child.ts";

const CHILD = fileURLToPath(new URL("./fixtures/cron-child.ts", import.meta.url));
let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hearth-cron-crash-"));
  path = join(dir, "crons.sqlite");
});
afterEach(() => {
  killChildren();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs one process generation until `waitFor` is printed, kills it with SIGKILL, returns its RAN lines. */
async function generation(args: string[], waitFor: RegExp): Promise<string[]> {
  const child = await startChild(CHILD, [path, ...args]);
  // The line may have come with READY, before nextLine looks.
  const line = child.lines.find((l) => waitFor.test(l)) ?? (await child.nextLine(waitFor, 20_000));
  if (line === null) throw new Error(`no ${waitFor} line; stderr:\n${child.stderr()}`);
  child.proc.kill("SIGKILL");
  await child.exited;
  return child.lines.filter((l) => l.startsWith("RAN "));
}

describe("cron triggers across kill -9", () => {
  it("runs a run missed while the process was down once, the latest one", async () => {
    expect(await generation(["2025-01-01T10:00:30Z", "2025-01-01T10:05:00Z"], /^IDLE$/)).toEqual(["RAN 2025-01-01T10:05:00.000Z"]);
    // Down from 10:05 to 10:22: 10:10, 10:15 and 10:20 were missed.
    expect(await generation(["2025-01-01T10:22:10Z", "2025-01-01T10:22:10Z"], /^IDLE$/)).toEqual(["RAN 2025-01-01T10:20:00.000Z"]);
    // That run was recorded before the second kill: a third start runs nothing.
    expect(await generation(["2025-01-01T10:22:30Z", "2025-01-01T10:22:30Z"], /^IDLE$/)).toEqual([]);
  });

  it("runs again a run the kill cut short", async () => {
    const first = await generation(["2025-01-01T10:00:30Z", "2025-01-01T10:05:00Z", "2025-01-01T10:05:00Z"], /^RAN 2025-01-01T10:05/);
    expect(first).toEqual(["RAN 2025-01-01T10:05:00.000Z"]);
    expect(await generation(["2025-01-01T10:06:00Z", "2025-01-01T10:06:00Z"], /^IDLE$/)).toEqual(["RAN 2025-01-01T10:05:00.000Z"]);
  });
});
