import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { threadId, Worker } from "node:worker_threads";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DatabaseSync } from "node:sqlite";
import { createAgentFile, currentBootStamp, SCHEMA_TABLES } from "../../src/storage/agent-file-setup.ts";
import { readStamp, settlingMarkerOf, STAMP_OFFSET } from "../../src/storage/file-stamp.ts";
import { AgentDatabase } from "../../src/storage/database.ts";
import { whenFilesSettled } from "../../src/storage/settle.ts";
import { agentsFolderOf, closeUnsettledLogs } from "../../src/storage/unsettled-log.ts";
import type { Durability } from "../../src/limits.ts";

const THIS_BOOT = 0x1234_5678;
const EARLIER_BOOT = 0x0bad_cafe;
const dirs: string[] = [];
const opened: AgentDatabase[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) db.close();
  await whenFilesSettled();
  closeUnsettledLogs();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "hearth-agent-files-"));
  dirs.push(dir);
  return join(dir, "agents", "counter", "ab", "a.sqlite");
}

function open(path: string, bootStamp = THIS_BOOT, durability: Durability = "relaxed"): AgentDatabase {
  const db = new AgentDatabase({ path, durability, identity: "counter/a", currentOwner: () => undefined, bootStamp });
  opened.push(db);
  return db;
}

function notes(db: AgentDatabase): string[] {
  if (!db.hasTable("notes")) return [];
  return (db.statement("SELECT text FROM notes ORDER BY rowid").all() as Array<{ text: string }>).map((row) => row.text);
}

function writeNote(db: AgentDatabase, text: string): void {
  db.execScript("CREATE TABLE IF NOT EXISTS notes (text TEXT)");
  db.statement("INSERT INTO notes (text) VALUES (?)").run(text);
  db.flush();
}

describe("agent files made from the template", () => {
  it("are gone without a word when their folder is removed while they are being settled", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-agent-files-"));
    dirs.push(dir);
    // More files than the settle clears in one turn, so that it yields between its two syncs.
    const paths = Array.from({ length: 300 }, (_, i) => join(dir, `a${i}.sqlite`));
    for (const path of paths) open(path).close();
    const errors: unknown[][] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void errors.push(args));
    try {
      // The folder goes once the settle has synced and cleared the first file's stamp.
      await new Promise<void>((resolve) => {
        const look = (): void => {
          if (readStamp(paths[0]!) !== 0) return void setImmediate(look);
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        look();
      });
      await whenFilesSettled();
    } finally {
      spy.mockRestore();
    }
    expect(existsSync(dir)).toBe(false);
    expect(errors).toEqual([]);
  });

  it("are written without fsync in relaxed durability, stamped with the boot, and settled after close", async () => {
    const path = tempPath();
    const db = open(path);
    expect(readStamp(path)).toBe(THIS_BOOT);
    writeNote(db, "one");
    db.close();
    await whenFilesSettled();
    expect(readStamp(path)).toBe(0);
    const again = open(path);
    expect(notes(again)).toEqual(["one"]);
    again.close();
  });

  it("start empty when stamped by an earlier boot: written without fsync before a restart, they may be torn", () => {
    const path = tempPath();
    const before = open(path, EARLIER_BOOT);
    writeNote(before, "maybe torn");
    before.close(); // reopened below before the background settle runs: the stamp is still there
    const after = open(path, THIS_BOOT);
    expect(notes(after)).toEqual([]);
    writeNote(after, "fresh");
    after.close();
    expect(notes(open(path, THIS_BOOT))).toEqual(["fresh"]);
  });

  it("start empty when stamped by an earlier boot and unreadable", () => {
    const path = tempPath();
    open(path, EARLIER_BOOT).close();
    const bytes = readFileSync(path);
    bytes.fill(0x5a, 100, 4096); // page 1 torn after its header: SQLite cannot read the schema
    writeFileSync(path, bytes);
    const db = open(path, THIS_BOOT);
    expect(notes(db)).toEqual([]);
    expect(readStamp(path)).toBe(THIS_BOOT);
    db.close();
  });

  it("keep a settled file that cannot be read as an error, never as an empty agent", async () => {
    const path = tempPath();
    const db = open(path);
    writeNote(db, "kept");
    db.close();
    await whenFilesSettled();
    const bytes = readFileSync(path);
    bytes.fill(0x5a, 100, 4096);
    writeFileSync(path, bytes);
    expect(() => open(path)).toThrow(/Cannot open agent database .*a\.sqlite/);
    expect(readFileSync(path).subarray(100, 110).every((byte) => byte === 0x5a)).toBe(true);
  });

  it("are made durable before the first write with strict durability, and a relaxed file is settled when strict opens it", () => {
    const strictPath = tempPath();
    const strict = open(strictPath, THIS_BOOT, "strict");
    expect(readStamp(strictPath)).toBe(0);
    writeNote(strict, "strict");
    strict.close();

    const path = tempPath();
    const relaxed = open(path);
    writeNote(relaxed, "relaxed");
    relaxed.close();
    const reopened = open(path, THIS_BOOT, "strict");
    expect(readStamp(path)).toBe(0);
    expect(notes(reopened)).toEqual(["relaxed"]);
    reopened.close();
  });

  it("never replay a -wal file left by an earlier file at the same path", () => {
    const path = tempPath();
    const first = open(path);
    writeNote(first, "old agent");
    copyFileSync(`${path}-wal`, `${path}.old-wal`); // the WAL holds the note now
    first.close();
    rmSync(path);
    copyFileSync(`${path}.old-wal`, `${path}-wal`);
    const second = open(path);
    expect(notes(second)).toEqual([]);
    second.close();
  });

  it("keep an empty -wal file after close (but the first), so the next open does not create it", () => {
    const path = tempPath();
    const db = open(path);
    writeNote(db, "a");
    db.close();
    expect(existsSync(`${path}-wal`)).toBe(false); // a new agent's first close: its first wake makes the -wal
    const again = open(path);
    expect(notes(again)).toEqual(["a"]);
    writeNote(again, "b");
    again.close();
    expect(statSync(`${path}-wal`).size).toBe(0);
    expect(notes(open(path))).toEqual(["a", "b"]);
  });

  it("know the tables of a file they made from the template without asking SQLite, and learn new ones", () => {
    const path = tempPath();
    const db = open(path);
    expect(SCHEMA_TABLES.map((table) => db.hasTable(table))).toEqual(SCHEMA_TABLES.map(() => true));
    expect(db.hasTable("notes")).toBe(false);
    writeNote(db, "a");
    expect(db.hasTable("notes")).toBe(true);
    db.close();
    // What SQLite lists in the template is what the list says (plus the table written since).
    const raw = new DatabaseSync(path, { readOnly: true });
    const tables = raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((row) => String(row.name));
    raw.close();
    expect(tables).toEqual([...SCHEMA_TABLES, "notes"].sort());
  });

  it("claim a template file whose identity was lost, and refuse a file of another agent", () => {
    const path = tempPath();
    open(path).close();
    rmSync(path);
    createAgentFile(path, THIS_BOOT);
    const db = open(path);
    expect(db.statement("SELECT value FROM _hearth_meta WHERE key = 'identity'").get()?.value).toBe("counter/a");
    db.close();
    expect(
      () => new AgentDatabase({ path, durability: "relaxed", identity: "counter/b", currentOwner: () => undefined, bootStamp: THIS_BOOT }),
    ).toThrow(/belongs to another agent \("counter\/a"\), not "counter\/b"/);
  });

  it("refuse PRAGMA application_id: the stamp is Hearth's", () => {
    const db = open(tempPath());
    expect(() => db.statement("PRAGMA application_id = 0")).toThrow(/PRAGMA application_id is reserved: Hearth marks files written without fsync with it/);
    expect(() => db.execScript("CREATE TABLE t (x); PRAGMA main.application_id = 7")).toThrow(/PRAGMA application_id is reserved/);
    // Whatever SQLite reads as white space before or inside the pragma.
    for (const query of ["; PRAGMA application_id = 7", "/* x */;PRAGMA/**/application_id = 7", "PRAGMA main./* x */application_id = 7", "PRAGMA -- x\n application_id = 7"]) {
      expect(() => db.statement(query), query).toThrow(/PRAGMA application_id is reserved/);
    }
    expect(db.statement("PRAGMA user_version").get()).toEqual({ user_version: expect.any(Number) });
    expect(db.hasTable("t")).toBe(false);
    db.close();
  });

  it("are created durable at once where the system has no boot id (stamp 0)", () => {
    const path = tempPath();
    const db = open(path, 0);
    expect(readStamp(path)).toBe(0);
    expect(existsSync(`${path}.new`)).toBe(false);
    db.close();
  });
});

describe("the log of unsettled files", () => {
  it("lists files created without fsync, and a later process settles what an earlier one left", async () => {
    const path = tempPath();
    const agents = join(path, "..", "..", "..");
    const db = open(path, currentBootStamp());
    writeNote(db, "left unsettled");
    db.close();
    await whenFilesSettled();
    const log = `.unsettled.${process.pid}.${threadId}`;
    expect(readFileSync(join(agents, log), "utf8")).toBe(""); // all settled: the log starts over

    // As a process killed before its settles ran leaves it: stamped, listed.
    const bytes = readFileSync(path);
    bytes.writeInt32BE(currentBootStamp(), 68);
    writeFileSync(path, bytes);
    // And one it left before the machine went down: stamped by that boot, so it may be torn.
    const torn = join(agents, "counter", "ef", "c.sqlite");
    mkdirSync(dirname(torn), { recursive: true });
    bytes.writeInt32BE(EARLIER_BOOT, 68);
    writeFileSync(torn, bytes);
    writeFileSync(join(agents, ".unsettled.99999999.0"), `${path}\n${torn}\n`); // no such process: it was killed
    writeFileSync(join(agents, `.unsettled.${process.pid}.${threadId + 1}`), ""); // another thread of this process: left alone
    expect(readStamp(path)).toBe(currentBootStamp());
    closeUnsettledLogs(); // what a new process starts with: no log open yet
    open(join(agents, "counter", "cd", "b.sqlite"), currentBootStamp()).close(); // the first new file takes the logs over
    await whenFilesSettled();
    expect(readStamp(path)).toBe(0);
    expect(readdirSync(agents).filter((name) => name.includes(".unsettled")).sort()).toEqual([log, `.unsettled.${process.pid}.${threadId + 1}`].sort());
    expect(notes(open(path, currentBootStamp()))).toEqual(["left unsettled"]);
    // Never settled: its next open finds it from an earlier boot and starts the agent empty.
    expect(readStamp(torn)).toBe(EARLIER_BOOT);
    expect(notes(open(torn, currentBootStamp()))).toEqual([]);
  });

  it("settles a file a killed process left with pages in its -wal, so that a later boot does not take it for torn", async () => {
    const path = tempPath();
    const agents = join(path, "..", "..", "..");
    const db = open(path, currentBootStamp());
    writeNote(db, "in the wal"); // a new table: the header page, stamp and all, is in the -wal too
    // The process is killed here: it leaves the file and its -wal as they are now, listed in its log.
    const left = join(agents, "counter", "cd", "killed.sqlite");
    mkdirSync(dirname(left), { recursive: true });
    copyFileSync(path, left);
    copyFileSync(`${path}-wal`, `${left}-wal`);
    expect(statSync(`${left}-wal`).size).toBeGreaterThan(0);
    writeFileSync(join(agents, ".unsettled.99999999.0"), `${left}\n`);
    closeUnsettledLogs(); // what a new process starts with
    open(join(agents, "counter", "ef", "new.sqlite"), currentBootStamp()).close(); // takes the logs over
    await whenFilesSettled();
    expect(readStamp(left)).toBe(0);
    expect(existsSync(`${left}-shm`)).toBe(false);
    // The machine restarts before the agent is opened again: the next boot finds it settled.
    expect(notes(open(left, currentBootStamp() ^ 1))).toEqual(["in the wal"]);
  });

  it("a thread opening an agent while another thread of the process checkpoints its leftover file waits for it; any other lock is refused at once", async () => {
    const path = tempPath();
    writeNote(open(path, currentBootStamp()), "kept");
    opened.pop()!.close();
    /** Stamped as a killed process of this boot leaves it (the settle of this close has cleared it by then). */
    const stampAsLeftover = async () => {
      await whenFilesSettled();
      const fd = openSync(path, "r+");
      const stamp = Buffer.alloc(4);
      stamp.writeInt32BE(currentBootStamp());
      writeSync(fd, stamp, 0, 4, STAMP_OFFSET);
      closeSync(fd);
    };
    await stampAsLeftover();
    /** Another thread holds the file's exclusive lock for a while, as the settle's checkpoint does; `released[0]` turns 1 just before it lets go. */
    const holdLock = async (released: Int32Array): Promise<{ exited: Promise<unknown> }> => {
      const code = `
        const { DatabaseSync } = require("node:sqlite");
        const { parentPort, workerData } = require("node:worker_threads");
        const db = new DatabaseSync(workerData.path);
        db.exec("PRAGMA locking_mode = EXCLUSIVE");
        db.prepare("SELECT count(*) FROM notes").get();
        parentPort.postMessage("locked");
        setTimeout(() => {
          Atomics.store(workerData.released, 0, 1);
          db.close();
        }, 2000);`;
      const worker = new Worker(code, { eval: true, workerData: { path, released } });
      const exited = new Promise((resolve) => worker.once("exit", resolve));
      await new Promise((resolve) => worker.once("message", resolve));
      return { exited };
    };
    // The settle's marker is there: the open waits until the other thread lets go.
    writeFileSync(settlingMarkerOf(path), "");
    let released = new Int32Array(new SharedArrayBuffer(4));
    let holder = await holdLock(released);
    expect(Atomics.load(released, 0)).toBe(0);
    const db = open(path, currentBootStamp());
    expect(notes(db)).toEqual(["kept"]);
    expect(Atomics.load(released, 0)).toBe(1);
    db.close();
    await holder.exited;
    rmSync(settlingMarkerOf(path));
    await stampAsLeftover();
    // No marker: another process's lock, refused at once.
    released = new Int32Array(new SharedArrayBuffer(4));
    holder = await holdLock(released);
    expect(() => notes(open(path, currentBootStamp()))).toThrow(/locked by another process/);
    expect(Atomics.load(released, 0)).toBe(0);
    await holder.exited;
  }, 20_000);

  it("lives next to the agents folder, and next to a file outside that layout", () => {
    expect(agentsFolderOf("/data/agents/counter/ab/x.sqlite")).toBe("/data/agents");
    expect(agentsFolderOf("/data/agents/counter/ab/x.facets/child-1.facets/y.sqlite")).toBe("/data/agents");
    expect(agentsFolderOf("/tmp/t/a.sqlite")).toBe("/tmp/t");
  });
});
