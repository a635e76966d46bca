/**
 * A file made by its open gets its identity row with the connection's first transaction, not in a
 * commit of its own at the open: a new agent costs one commit fewer. These check that the row is
 * there whatever that first transaction's fate: committed, undone by its event and retried, or no
 * transaction at all before the close.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { AgentDatabase } from "../../src/storage/database.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function newPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "hearth-identity-"));
  dirs.push(dir);
  return join(dir, "a.sqlite");
}

function open(path: string, owner: () => object | undefined = () => undefined): AgentDatabase {
  return new AgentDatabase({ path, durability: "relaxed", identity: "notes/a", currentOwner: owner });
}

/** What the closed file holds: its identity row and its tables. */
function contents(path: string): { identity: unknown; tables: string[] } {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const identity = db.prepare("SELECT value FROM _hearth_meta WHERE key = 'identity'").get()?.value;
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_hearth\\_%' ESCAPE '\\'").all().map((row) => row.name as string);
    return { identity, tables };
  } finally {
    db.close();
  }
}

describe("a new file's identity", () => {
  it("is not committed by the open, and is committed with the first transaction", () => {
    const path = newPath();
    const db = open(path);
    expect(statSync(`${path}-wal`).size).toBe(0); // the open wrote nothing
    db.statement("CREATE TABLE notes (text TEXT)").run();
    db.flush();
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(0);
    db.close();
    expect(contents(path)).toEqual({ identity: "notes/a", tables: ["notes"] });
  });

  it("is written at the close when no transaction ran", () => {
    const path = newPath();
    open(path).close();
    expect(contents(path)).toEqual({ identity: "notes/a", tables: [] });
  });

  it("goes again into the next transaction when the first one is undone with its event", () => {
    const path = newPath();
    let owner: object | undefined;
    const db = open(path, () => owner);
    owner = {};
    db.statement("CREATE TABLE lost (x)").run();
    void db.endEvent(owner, true); // the event failed: its writes, the whole transaction, are undone
    owner = {};
    db.statement("CREATE TABLE kept (x)").run();
    void db.endEvent(owner, false);
    owner = undefined;
    db.flush();
    db.close();
    expect(contents(path)).toEqual({ identity: "notes/a", tables: ["kept"] });
  });

  it("is checked at the next open like any other", () => {
    const path = newPath();
    const first = open(path);
    first.statement("CREATE TABLE notes (text TEXT)").run();
    first.close();
    expect(() => new AgentDatabase({ path, durability: "relaxed", identity: "notes/b", currentOwner: () => undefined })).toThrow(/belongs to another agent \("notes\/a"\)/);
  });
});
