import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { openAgentFile } from "../../src/storage/connection.ts";

/** A boot's stamp (any non-zero value: files made under it are unsettled until they are synced). */
const THIS_BOOT = 0x1234_5678;
let dir: string | undefined;
let db: DatabaseSync | undefined;
afterEach(() => {
  db?.close();
  db = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function open(durability: "relaxed" | "strict"): { db: DatabaseSync; path: string; unsettled: boolean } {
  dir = mkdtempSync(join(tmpdir(), "hearth-wal-"));
  const path = join(dir, "agent.sqlite");
  const opened = openAgentFile({ path, durability, identity: "test/agent", bootStamp: THIS_BOOT });
  db = opened.db;
  return { db: opened.db, path, unsettled: opened.unsettled };
}

/** 300 commits of a row of 3,000 bytes each: a page or two of WAL per commit. */
function writeMany(target: DatabaseSync): void {
  target.exec("CREATE TABLE rows (data BLOB NOT NULL)");
  const insert = target.prepare("INSERT INTO rows (data) VALUES (?)");
  const blob = new Uint8Array(3_000);
  for (let i = 0; i < 300; i++) insert.run(blob);
}

describe("the WAL of a file written without fsync", () => {
  it("is checkpointed every 64 pages, so it stays a few hundred KB however much the agent writes", () => {
    const { db: file, path, unsettled } = open("relaxed");
    expect(unsettled).toBe(true);
    expect(file.prepare("PRAGMA wal_autocheckpoint").get()).toEqual({ wal_autocheckpoint: 64 });
    writeMany(file);
    // 64 pages and the last commit's, with their frame headers: well under 400 KB (1,000 pages: 4 MB).
    expect(statSync(`${path}-wal`).size).toBeLessThan(400_000);
    expect(file.prepare("SELECT count(*) AS n FROM rows").get()).toEqual({ n: 300 });
  });

  it("is left to SQLite's default when every commit is synced (a checkpoint there costs two fsyncs)", () => {
    const { db: file, unsettled } = open("strict");
    expect(unsettled).toBe(false);
    expect(file.prepare("PRAGMA wal_autocheckpoint").get()).toEqual({ wal_autocheckpoint: 1000 });
  });
});
