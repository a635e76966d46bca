/**
 * The data directory's layout for a number of threads: indexes and catalogs rebuilt when it changes,
 * the workflow store carried along to whichever directory the first shard uses — with every commit,
 * even those still only in its WAL, and a move cut short finished by the next start.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { prepareShardLayout, shardStateDir } from "../../src/shards/layout.ts";

let dataDir: string;
beforeEach(() => void (dataDir = mkdtempSync(join(tmpdir(), "hearth-layout-"))));
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const storeOf = (count: number) => join(shardStateDir(dataDir, 0, count), "workflows.sqlite");

/** A store as a killed process leaves it: its last commits only in the -wal next to it. */
function crashedStore(path: string, rows: number): void {
  const scratch = mkdtempSync(join(tmpdir(), "hearth-layout-src-"));
  const live = join(scratch, "workflows.sqlite");
  const db = new DatabaseSync(live);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE instances (id TEXT)");
  for (let i = 0; i < rows; i++) db.prepare("INSERT INTO instances VALUES (?)").run(`i${i}`);
  // A copy while the connection is open: what is on disk at a kill -9.
  copyFileSync(live, path);
  copyFileSync(`${live}-wal`, `${path}-wal`);
  db.close();
  rmSync(scratch, { recursive: true, force: true });
}

const rowsIn = (path: string): number => {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return (db.prepare("SELECT count(*) AS n FROM instances").get() as { n: number }).n;
  } finally {
    db.close();
  }
};

describe("prepareShardLayout", () => {
  it("carries the workflow store to the first shard's directory at every change of thread count, WAL included", () => {
    expect(prepareShardLayout(dataDir, 1)).toBe(false);
    crashedStore(storeOf(1), 5);
    writeFileSync(join(dataDir, "host.sqlite"), "stale index");
    expect(prepareShardLayout(dataDir, 2)).toBe(true);
    expect(existsSync(storeOf(1))).toBe(false);
    expect(existsSync(join(dataDir, "host.sqlite"))).toBe(false);
    expect(rowsIn(storeOf(2))).toBe(5);
    expect(prepareShardLayout(dataDir, 2)).toBe(false);
    expect(prepareShardLayout(dataDir, 3)).toBe(true);
    expect(existsSync(join(dataDir, "shards", "2"))).toBe(false);
    expect(rowsIn(storeOf(3))).toBe(5);
    expect(prepareShardLayout(dataDir, 1)).toBe(true);
    expect(existsSync(join(dataDir, "shards"))).toBe(false);
    expect(rowsIn(storeOf(1))).toBe(5);
  });

  it("finishes a move a start cut short: the layout recorded, the store still in the data directory", () => {
    prepareShardLayout(dataDir, 2);
    crashedStore(join(dataDir, "workflows.sqlite"), 3);
    expect(prepareShardLayout(dataDir, 2)).toBe(false);
    expect(existsSync(join(dataDir, "workflows.sqlite"))).toBe(false);
    expect(rowsIn(storeOf(2))).toBe(3);
  });

  it("refuses to choose between two stores", () => {
    prepareShardLayout(dataDir, 2);
    crashedStore(storeOf(2), 1);
    crashedStore(join(dataDir, "workflows.sqlite"), 2);
    expect(() => prepareShardLayout(dataDir, 2)).toThrow(/Two workflow stores: .*Keep the one with your instances/);
    // Nothing was lost or moved.
    expect([rowsIn(storeOf(2)), rowsIn(join(dataDir, "workflows.sqlite"))]).toEqual([1, 2]);
  });
});
