import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { LIMITS, type Durability } from "../../src/limits.ts";
import { AgentDatabase } from "../../src/storage/database.ts";
import { defaultOpenConnectionCap, openConnectionCount, setOpenConnectionCap } from "../../src/storage/parking.ts";
import { quietClosesPending, setQuietCloseSync, whenQuietClosesDone } from "../../src/storage/quiet-close.ts";
import { whenFilesSettled } from "../../src/storage/settle.ts";

const dirs: string[] = [];
const open: AgentDatabase[] = [];
const defaultWalBytes = LIMITS.quietWalBytes;

/** Syncs a test held and did not answer: answered after it, so no batch waits forever. */
const unanswered: Array<(ok: boolean) => void> = [];

afterEach(async () => {
  setQuietCloseSync();
  setOpenConnectionCap(defaultOpenConnectionCap());
  for (const answer of unanswered.splice(0)) answer(true);
  (LIMITS as { quietWalBytes: number }).quietWalBytes = defaultWalBytes;
  for (const db of open.splice(0)) db.close();
  await whenQuietClosesDone();
  await whenFilesSettled();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function make(path: string, durability: Durability = "relaxed"): AgentDatabase {
  const db = new AgentDatabase({ path, durability, identity: "notes/a", currentOwner: () => undefined });
  open.push(db);
  return db;
}

/** A file written, closed and settled (synced, its stamp cleared): what a hibernated agent leaves. */
async function settledFile(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "hearth-quiet-"));
  dirs.push(dir);
  const path = join(dir, "a.sqlite");
  const first = make(path);
  first.execScript("CREATE TABLE notes (text TEXT NOT NULL)");
  first.statement("INSERT INTO notes (text) VALUES (?)").run("settled-row");
  first.close();
  await whenFilesSettled();
  return path;
}

function insert(db: AgentDatabase, text: string): void {
  db.statement("INSERT INTO notes (text) VALUES (?)").run(text);
  db.flush();
}

const synchronous = (db: AgentDatabase) => Number(db.statement("PRAGMA synchronous").get()?.synchronous);
const inMainFile = (path: string, text: string) => readFileSync(path).includes(Buffer.from(text));
const walSize = (path: string) => statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0;

/** Rows read by a connection of its own (fails while the agent's connection still holds the file). */
function rowsOf(path: string): string[] {
  const reader = new DatabaseSync(path);
  try {
    reader.exec("PRAGMA locking_mode = EXCLUSIVE");
    return reader.prepare("SELECT text FROM notes ORDER BY rowid").all().map((row) => String(row.text));
  } finally {
    reader.close();
  }
}

/** Replaces the file-system sync with one the test answers, step by step. */
function heldSyncs(): { calls: number; release(ok?: boolean): Promise<void> } {
  const waiting: Array<(ok: boolean) => void> = [];
  const state = {
    calls: 0,
    async release(ok = true) {
      for (let tries = 0; waiting.length === 0; tries++) {
        if (tries > 400) throw new Error("no sync was asked for");
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      waiting.shift()!(ok);
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
  setQuietCloseSync(() => {
    state.calls++;
    return new Promise((resolve) => {
      waiting.push(resolve);
      unanswered.push(resolve);
    });
  });
  return state;
}

describe("quiet sessions: a settled file reopened with relaxed durability", () => {
  it("runs without sync and without checkpoints: its writes stay in the WAL until it closes", async () => {
    const path = await settledFile();
    const db = make(path);
    expect(db.quiet).toBe(true);
    expect(synchronous(db)).toBe(0);
    for (let i = 0; i < 50; i++) insert(db, `quiet-row-${i}`);
    expect(walSize(path)).toBeGreaterThan(0);
    expect(inMainFile(path, "quiet-row-0")).toBe(false);
    db.close();
    expect(walSize(path)).toBe(0);
    expect(inMainFile(path, "quiet-row-49")).toBe(true);
    expect(rowsOf(path)).toHaveLength(51);
  });

  it("is never used for strict durability, a new file, or a file whose WAL has frames", async () => {
    const path = await settledFile();
    const strict = make(path, "strict");
    expect(strict.quiet).toBe(false);
    expect(synchronous(strict)).toBe(2);
    strict.close();

    const dir = mkdtempSync(join(tmpdir(), "hearth-quiet-"));
    dirs.push(dir);
    const fresh = make(join(dir, "new.sqlite"));
    expect(fresh.quiet).toBe(false);
    fresh.close();

    // A WAL left with frames (what a crash mid-session leaves: copied while the session is open) is
    // replayed and checkpointed the usual way.
    const reopened = make(path);
    expect(reopened.quiet).toBe(true);
    insert(reopened, "in-the-wal");
    const crashed = join(dir, "crashed.sqlite");
    copyFileSync(path, crashed);
    copyFileSync(`${path}-wal`, `${crashed}-wal`);
    expect(walSize(crashed)).toBeGreaterThan(0);
    const recovered = make(crashed);
    expect(recovered.quiet).toBe(false);
    expect(synchronous(recovered)).toBe(1);
    expect(recovered.statement("SELECT text FROM notes ORDER BY rowid").all().map((row) => row.text)).toEqual(["settled-row", "in-the-wal"]);
  });
});

describe("parking a quiet session", () => {
  it("closes in the background, in order: sync the WAL, copy it into the file, sync the file, close", async () => {
    const path = await settledFile();
    const syncs = heldSyncs();
    const db = make(path);
    insert(db, "before-park");
    expect(db.park()).toBe(true);
    expect(db.parked).toBe(true);
    expect(quietClosesPending()).toBe(1);
    expect(inMainFile(path, "before-park")).toBe(false);

    await syncs.release(); // the WAL is durable: now it is copied, without sync
    expect(inMainFile(path, "before-park")).toBe(true);
    expect(walSize(path)).toBeGreaterThan(0); // still there: the only durable copy until the file is synced
    expect(() => rowsOf(path)).toThrow(/locked/); // the connection is still open

    await syncs.release(); // the file is durable: the connection closes and the WAL goes
    await whenQuietClosesDone();
    expect(syncs.calls).toBe(2);
    expect(quietClosesPending()).toBe(0);
    expect(walSize(path)).toBe(0);
    expect(rowsOf(path)).toEqual(["settled-row", "before-park"]);
  });

  it("gives the connection back as it was to a statement that comes before the copy", async () => {
    const path = await settledFile();
    const syncs = heldSyncs();
    const db = make(path);
    insert(db, "one");
    db.park();
    insert(db, "two");
    expect(db.parked).toBe(false);
    expect(db.quiet).toBe(true);
    expect(quietClosesPending()).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 150)); // past the batch's gathering delay
    expect(syncs.calls).toBe(0); // the batch found nothing left to do
    expect(inMainFile(path, "one")).toBe(false);
    db.close();
    expect(rowsOf(path)).toEqual(["settled-row", "one", "two"]);
  });

  it("syncs the file and hardens the session for a statement that comes after the copy", async () => {
    const path = await settledFile();
    const syncs = heldSyncs();
    const db = make(path);
    insert(db, "copied");
    db.park();
    await syncs.release();
    expect(inMainFile(path, "copied")).toBe(true);
    insert(db, "after-copy");
    expect(db.quiet).toBe(false);
    expect(synchronous(db)).toBe(1);
    expect(quietClosesPending()).toBe(0);
    for (let i = 0; i < 20; i++) insert(db, `more-${i}`); // restarts the WAL, with its header synced
    db.close();
    expect(rowsOf(path)).toHaveLength(23);
  });

  it("finishes on this thread when the agent closes meanwhile (hibernation, shutdown)", async () => {
    const path = await settledFile();
    const syncs = heldSyncs();
    const db = make(path);
    insert(db, "x");
    db.park();
    await syncs.release();
    db.close();
    expect(quietClosesPending()).toBe(0);
    expect(db.isOpen).toBe(false);
    expect(rowsOf(path)).toEqual(["settled-row", "x"]);
    expect(walSize(path)).toBe(0);
  });

  it("closes the usual way where the file system cannot be synced", async () => {
    const path = await settledFile();
    const syncs = heldSyncs();
    const db = make(path);
    insert(db, "no-syncfs");
    db.park();
    await syncs.release(false);
    await whenQuietClosesDone();
    expect(quietClosesPending()).toBe(0);
    expect(rowsOf(path)).toEqual(["settled-row", "no-syncfs"]);
    insert(db, "reopened"); // the next statement opens the file again
    expect(db.quiet).toBe(true);
    db.close();
    expect(rowsOf(path)).toEqual(["settled-row", "no-syncfs", "reopened"]);
  });

  it("runs on the real file-system sync too, and many parks share it", async () => {
    const paths = await Promise.all(Array.from({ length: 5 }, () => settledFile()));
    const dbs = paths.map((path) => make(path));
    dbs.forEach((db, i) => insert(db, `many-${i}`));
    for (const db of dbs) expect(db.park()).toBe(true);
    expect(quietClosesPending()).toBe(5);
    await whenQuietClosesDone();
    paths.forEach((path, i) => expect(rowsOf(path)).toEqual(["settled-row", `many-${i}`]));
  });
});

describe("the cap on open connections", () => {
  it("counts connections closing in the background: open and closing together stay under it", async () => {
    const paths = await Promise.all(Array.from({ length: 24 }, () => settledFile()));
    heldSyncs(); // no close finishes during the test: the closing ones keep their descriptors
    setOpenConnectionCap(16); // an eighth, 2, is kept for closing ones
    const dbs: AgentDatabase[] = [];
    for (const [i, path] of paths.entries()) {
      const db = make(path);
      insert(db, `capped-${i}`);
      dbs.push(db);
      expect(openConnectionCount() + quietClosesPending()).toBeLessThanOrEqual(16);
    }
    expect(quietClosesPending()).toBe(2);
    expect(openConnectionCount()).toBe(14);
    for (const db of dbs) db.close();
    paths.forEach((path, i) => expect(rowsOf(path)).toEqual(["settled-row", `capped-${i}`]));
  });
});

describe("a quiet session's WAL", () => {
  it("hardens the session once the WAL passes quietWalBytes, which then checkpoints as usual", async () => {
    const path = await settledFile();
    (LIMITS as { quietWalBytes: number }).quietWalBytes = 64 * 1024;
    const db = make(path);
    expect(db.quiet).toBe(true);
    for (let i = 0; i < 400 && db.quiet; i++) insert(db, `row-${i}-${"x".repeat(200)}`);
    expect(db.quiet).toBe(false);
    expect(synchronous(db)).toBe(1);
    db.close();
    expect(rowsOf(path).length).toBeGreaterThan(256);
  });
});
