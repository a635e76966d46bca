import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach } from "vitest";
import type { SqlExecutor } from "../../src/flow-control/index.ts";
import { closeAllRateLimitStores } from "../../src/ratelimit/index.ts";
import { VirtualClock } from "../../src/time/clock.ts";

/** 2030-01-01T00:00:00Z: the start of a 10 s and of a 60 s window. */
export const START = Date.parse("2030-01-01T00:00:00Z");

const dirs: string[] = [];
const clocks: VirtualClock[] = [];
const databases: DatabaseSync[] = [];

afterEach(() => {
  closeAllRateLimitStores();
  for (const db of databases.splice(0)) if (db.isOpen) db.close();
  for (const clock of clocks.splice(0)) clock.dispose();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hearth-flow-control-"));
  dirs.push(dir);
  return dir;
}

export function virtualClock(start: number = START): VirtualClock {
  const clock = new VirtualClock({ start });
  clocks.push(clock);
  return clock;
}

/** A SQLite file opened the way an agent's is, seen through the `ctx.storage.sql`-like interface. */
export function sqliteExecutor(path: string): { sql: SqlExecutor; db: DatabaseSync } {
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
  databases.push(db);
  const statements = new Map<string, ReturnType<DatabaseSync["prepare"]>>();
  const sql: SqlExecutor = {
    exec(query, ...bindings) {
      let statement = statements.get(query);
      if (statement === undefined) statements.set(query, (statement = db.prepare(query)));
      if (statement.columns().length === 0) {
        statement.run(...bindings);
        return [];
      }
      return statement.all(...bindings);
    },
  };
  return { sql, db };
}

/** A promise with its resolve and reject, to finish a piece of work when the test says. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets pending promise callbacks (and one real macrotask) run. */
export async function flush(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/** The rejection of `promise` (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection, got a value");
}
