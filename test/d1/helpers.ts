import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { D1Database, type D1DatabaseOptions } from "../../src/d1/index.ts";

/** A temp directory per test, removed (with every database opened through `open`) after it. */
export function d1TestDirs(): { dir: () => string; open: (name?: string, options?: Omit<D1DatabaseOptions, "path">) => D1Database } {
  const dirs: string[] = [];
  const opened: D1Database[] = [];
  let current: string | undefined;
  afterEach(() => {
    for (const db of opened.splice(0)) db.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    current = undefined;
  });
  const dir = (): string => {
    const created = mkdtempSync(join(tmpdir(), "hearth-d1-"));
    dirs.push(created);
    return created;
  };
  return {
    dir,
    open(name = "db", options = {}) {
      current ??= dir();
      const db = new D1Database({ ...options, path: join(current, `${name}.sqlite`) });
      opened.push(db);
      return db;
    },
  };
}

/** The rejection's message (fails the test when the promise resolves). */
export async function errorOf(promise: Promise<unknown> | (() => unknown)): Promise<Error> {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}
