import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach } from "vitest";
import { closeAllKvNamespaces, KvNamespace, type KvNamespaceOptions } from "../../src/kv/index.ts";
import { VirtualClock } from "../../src/time/clock.ts";

/** 2030-01-01T00:00:00Z: a fixed start for virtual time (a whole minute, so windows are predictable). */
export const START = Date.parse("2030-01-01T00:00:00Z");
export const START_SECONDS = START / 1000;

const dirs: string[] = [];
const clocks: VirtualClock[] = [];

afterEach(() => {
  closeAllKvNamespaces();
  for (const clock of clocks.splice(0)) clock.dispose();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temp directory, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hearth-kv-"));
  dirs.push(dir);
  return dir;
}

/** A virtual clock at {@link START}, disposed after the test. */
export function virtualClock(): VirtualClock {
  const clock = new VirtualClock({ start: START });
  clocks.push(clock);
  return clock;
}

/** A namespace in a fresh file, on a virtual clock unless one is given; closed after the test. */
export function freshNamespace(options: Partial<KvNamespaceOptions> = {}): { kv: KvNamespace; path: string; clock: VirtualClock } {
  const clock = virtualClock();
  // An explicit `options.clock` wins (the virtual clock returned then goes unused).
  const path = options.path ?? join(tempDir(), "kv", "NS.sqlite");
  return { kv: new KvNamespace({ clock, ...options, path }), path, clock };
}

/** Rows in the namespace's file, read directly (the namespace must be closed: the file is locked while open). */
export function storedKeys(path: string): string[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db
      .prepare("SELECT key FROM kv ORDER BY key")
      .all()
      .map((row) => row.key as string);
  } finally {
    db.close();
  }
}

/** The rejection of a promise (fails if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the promise to reject, but it resolved");
}
