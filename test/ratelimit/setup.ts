import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { closeAllRateLimitStores, openRateLimitStore, type RateLimitStore } from "../../src/ratelimit/index.ts";
import { VirtualClock } from "../../src/time/clock.ts";

/** 2030-01-01T00:00:00Z: the start of a 10 s and of a 60 s window. */
export const START = Date.parse("2030-01-01T00:00:00Z");

const dirs: string[] = [];
const clocks: VirtualClock[] = [];

afterEach(() => {
  closeAllRateLimitStores();
  for (const clock of clocks.splice(0)) clock.dispose();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hearth-ratelimit-"));
  dirs.push(dir);
  return dir;
}

export function virtualClock(start: number = START): VirtualClock {
  const clock = new VirtualClock({ start });
  clocks.push(clock);
  return clock;
}

/** A store in a fresh file on a virtual clock (closed after the test). */
export function freshStore(): { store: RateLimitStore; path: string; clock: VirtualClock } {
  const clock = virtualClock();
  const path = join(tempDir(), "ratelimit.sqlite");
  return { store: openRateLimitStore(path, { clock }), path, clock };
}

/** The outcomes of `n` calls, as a string of "+" (success) and "-" (refused). */
export async function outcomes(limit: (options: { key: string }) => Promise<{ success: boolean }>, key: string, n: number): Promise<string> {
  let out = "";
  for (let i = 0; i < n; i++) out += (await limit({ key })).success ? "+" : "-";
  return out;
}
