import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { openSecretStore, SecretStoreError } from "../../src/secrets/index.ts";
import { breakStaleLock, staleLockFile, withFileLock } from "../../src/secrets/lock.ts";
import { tempDirs } from "./helpers.ts";
import type { TakerData } from "./lock-taker.ts";

const dirs = tempDirs();
const WRITER = fileURLToPath(new URL("./writer-child.ts", import.meta.url));
const TAKER = new URL("./lock-taker.ts", import.meta.url);

/** Writes `file` as a crashed writer leaves it: a minute old. */
function leftByCrash(file: string): void {
  writeFileSync(file, "12345");
  const old = new Date(Date.now() - 60_000);
  utimesSync(file, old, old);
}

function runTaker(data: TakerData): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(TAKER, { workerData: data });
    worker.on("error", reject);
    worker.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`a taker exited with ${code}`))));
  });
}

function runWriter(dataDir: string, prefix: string, count: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", WRITER, dataDir, prefix, String(count)], { stdio: ["ignore", "inherit", "inherit"] });
    proc.on("error", reject);
    proc.on("exit", (code) => resolve(code ?? -1));
  });
}

describe("writers in several processes", () => {
  it("lose no secret when they write the same file at the same time", async () => {
    const dataDir = dirs.dataDir();
    // The key exists first, so the writers do not race to create it.
    openSecretStore({ dataDir }).put("SEED", "seed");
    const codes = await Promise.all([runWriter(dataDir, "A", 40), runWriter(dataDir, "B", 40), runWriter(dataDir, "C", 40)]);
    expect(codes).toEqual([0, 0, 0]);
    const all = openSecretStore({ dataDir }).all();
    expect(Object.keys(all)).toHaveLength(121);
    expect(all.B_39).toBe("value-B-39");
  });
});

describe("withFileLock", () => {
  it("refuses with a clear message while another writer holds the lock, and releases its own", () => {
    const path = join(dirs.root(), "default.json");
    writeFileSync(`${path}.lock`, "12345");
    let error: unknown;
    try {
      withFileLock(path, () => "never", 30);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SecretStoreError);
    expect((error as SecretStoreError).code).toBe("LOCKED");
    expect((error as SecretStoreError).message).toBe(
      `another process is changing the secrets in ${path} (it holds ${path}.lock); try again, or delete that file if no hearth secret command is running`,
    );
  });

  it("takes over a lock left by a crashed process", () => {
    const path = join(dirs.root(), "default.json");
    writeFileSync(`${path}.lock`, "12345");
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${path}.lock`, old, old);
    expect(withFileLock(path, () => "ran", 30)).toBe("ran");
    expect(() => statSync(`${path}.lock`)).toThrow(/ENOENT/);
  });

  it("leaves the lock another waiter took since both judged the crashed writer's lock stale", () => {
    const path = join(dirs.root(), "default.json");
    const lock = `${path}.lock`;
    leftByCrash(lock);
    const judgedByFirst = staleLockFile(lock);
    const judgedByLate = staleLockFile(lock);
    expect(judgedByFirst).toBeDefined();
    expect(breakStaleLock(lock, judgedByFirst!)).toBe(true);
    const ran = withFileLock(path, () => {
      // The late waiter acts on what it saw before: the lock is now the first one's, and fresh.
      expect(breakStaleLock(lock, judgedByLate!)).toBe(false);
      expect(readFileSync(lock, "utf8")).toBe(String(process.pid));
      return "ran";
    });
    expect(ran).toBe("ran");
    expect(existsSync(lock)).toBe(false);
  });

  it("takes over when a waiter also crashed while taking the lock over", () => {
    const path = join(dirs.root(), "default.json");
    leftByCrash(`${path}.lock`);
    leftByCrash(`${path}.lock.takeover`);
    expect(withFileLock(path, () => "ran", 1_000)).toBe("ran");
    expect([existsSync(`${path}.lock`), existsSync(`${path}.lock.takeover`)]).toEqual([false, false]);
  });

  it("lets exactly one of several waiters take over a crashed writer's lock, however they interleave", async () => {
    const rounds = 30;
    const takers = 6;
    const paths = Array.from({ length: rounds }, (_, round) => join(dirs.root(), `round-${round}.json`));
    for (const path of paths) leftByCrash(`${path}.lock`);
    const shared = new SharedArrayBuffer(4 * (2 + rounds));
    await Promise.all(Array.from({ length: takers }, () => runTaker({ paths, shared, takers })));
    const cells = new Int32Array(shared);
    // Every taker went inside every round's lock, one at a time.
    expect(Atomics.load(cells, 1)).toBe(1);
    expect(paths.filter((path) => existsSync(`${path}.lock`))).toEqual([]);
  });
});
