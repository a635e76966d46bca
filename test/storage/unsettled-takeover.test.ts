import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { ActorHost as Host } from "../../src/host/host.ts";
import { currentBootStamp } from "../../src/storage/agent-file-setup.ts";
import { AgentDatabase } from "../../src/storage/database.ts";
import { readStamp, settlingMarkerOf, STAMP_OFFSET } from "../../src/storage/file-stamp.ts";
import { settleLeftovers, whenFilesSettled } from "../../src/storage/settle.ts";
import { closeUnsettledLogs } from "../../src/storage/unsettled-log.ts";

/** A pid no process has: its logs are those of a process that was killed. */
const DEAD_PID = 99_999_999;
const dirs: string[] = [];
const opened: AgentDatabase[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) db.close();
  await whenFilesSettled();
  closeUnsettledLogs();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hearth-takeover-"));
  dirs.push(dir);
  return dir;
}

function agentPath(data: string, name: string): string {
  return join(data, "agents", "counter", name.slice(0, 2), `${name}.sqlite`);
}

function open(path: string, bootStamp = currentBootStamp()): AgentDatabase {
  const db = new AgentDatabase({ path, durability: "relaxed", identity: `counter/${path}`, currentOwner: () => undefined, bootStamp });
  opened.push(db);
  return db;
}

function close(db: AgentDatabase): void {
  opened.splice(opened.indexOf(db), 1);
  db.close();
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

/**
 * An agent file as a process of this boot killed before its settle leaves it: written, stamped with
 * this boot, listed in that process's log. Then what a new process starts with: no log of its own.
 */
async function leftByKilledProcess(data: string, names: string[]): Promise<string[]> {
  const paths = names.map((name) => agentPath(data, name));
  for (const path of paths) {
    const db = open(path);
    writeNote(db, `${path} kept`);
    close(db);
  }
  await whenFilesSettled();
  for (const path of paths) {
    const fd = openSync(path, "r+");
    const stamp = Buffer.alloc(4);
    stamp.writeInt32BE(currentBootStamp());
    writeSync(fd, stamp, 0, 4, STAMP_OFFSET);
    closeSync(fd);
  }
  writeFileSync(join(data, "agents", `.unsettled.${DEAD_PID}.0`), paths.map((path) => `${path}\n`).join(""));
  closeUnsettledLogs();
  return paths;
}

function logsOf(data: string): string[] {
  return readdirSync(join(data, "agents")).filter((name) => name.includes(".unsettled"));
}

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("the logs of killed processes", () => {
  it("are taken over when a host starts, with no agent created: what they list is settled in the background", async () => {
    const data = dataDir();
    const [path] = await leftByKilledProcess(data, ["r1"]);
    const host = new Host({ dataDir: data, agents: {} });
    try {
      expect(readStamp(path!)).toBe(currentBootStamp()); // not settled on the constructor's way
      await until(() => readStamp(path!) === 0);
      await until(() => !logsOf(data).some((name) => name.includes(`${DEAD_PID}`)));
    } finally {
      await host.close();
    }
    // A reboot now finds it settled, with what was written.
    expect(notes(open(path!, currentBootStamp() ^ 1))).toEqual([`${path} kept`]);
  });

  it("are settled before Host.close() resolves, even when the host closes at once", async () => {
    const data = dataDir();
    const paths = await leftByKilledProcess(data, ["a1", "b2", "c3"]);
    await new Host({ dataDir: data, agents: {} }).close();
    expect(paths.map((path) => readStamp(path))).toEqual([0, 0, 0]);
    expect(logsOf(data).filter((name) => name.includes(`${DEAD_PID}`) || name.startsWith(".taken"))).toEqual([]);
    expect(existsSync(join(data, "agents", `.unsettled.${DEAD_PID}.0`))).toBe(false);
  });

  it("keep a file listed that is open when they are taken over, until it is settled: a second crash before its close leaves it to the next process", async () => {
    const data = dataDir();
    const [x] = await leftByKilledProcess(data, ["x1"]);
    // The next process serves x (its connection stays open), then creates y, and takes the log over.
    const db = open(x!);
    writeNote(db, "after the restart");
    close(open(agentPath(data, "y1")));
    await whenFilesSettled();
    expect(existsSync(join(data, "agents", `.unsettled.${DEAD_PID}.0`))).toBe(false);
    expect(readStamp(x!)).toBe(currentBootStamp()); // open: not settled under its connection
    // Killed now: a log it leaves still lists x, for the process after it.
    const listed = logsOf(data).flatMap((name) => readFileSync(join(data, "agents", name), "utf8").split("\n"));
    expect(listed).toContain(x);
    close(db);
    await whenFilesSettled();
    expect(readStamp(x!)).toBe(0);
    expect(notes(open(x!, currentBootStamp() ^ 1))).toEqual([`${x} kept`, "after the restart"]);
  });

  it("never settle a file another thread of the process has open, nor drop that thread's lock on it", async () => {
    const data = dataDir();
    const [x] = await leftByKilledProcess(data, ["x2"]);
    const code = `
      const { DatabaseSync } = require("node:sqlite");
      const { parentPort, workerData } = require("node:worker_threads");
      const db = new DatabaseSync(workerData.path);
      db.exec("PRAGMA locking_mode = EXCLUSIVE; PRAGMA synchronous = OFF");
      db.prepare("SELECT count(*) FROM notes").get();
      parentPort.postMessage("open");
      parentPort.once("message", () => {
        db.prepare("INSERT INTO notes (text) VALUES ('from the other thread')").run();
        db.close();
        parentPort.postMessage("closed");
      });`;
    const worker = new Worker(code, { eval: true, workerData: { path: x } });
    try {
      await new Promise((resolve) => worker.once("message", resolve));
      await new Host({ dataDir: data, agents: {} }).close(); // takes the log over, settles what it can
      expect(readStamp(x!)).toBe(currentBootStamp());
      // Its lock still holds: an open from here is refused.
      expect(() => notes(open(x!))).toThrow(/locked by another process/);
      worker.postMessage("write");
      await new Promise((resolve) => worker.once("message", resolve));
    } finally {
      await worker.terminate();
    }
    expect(notes(open(x!))).toEqual([`${x} kept`, "from the other thread"]);
  });

  it("let a file being settled go at once when the settle's own thread opens it", async () => {
    const data = dataDir();
    const [x] = await leftByKilledProcess(data, ["x3"]);
    const settled = settleLeftovers([x!], currentBootStamp());
    // Held from before its first sync until its stamp is cleared: a few turns of the event loop.
    const giveUp = Date.now() + 5_000;
    while (!existsSync(settlingMarkerOf(x!)) && Date.now() < giveUp) await new Promise((resolve) => setImmediate(resolve));
    expect(existsSync(settlingMarkerOf(x!))).toBe(true);
    const started = performance.now();
    const db = open(x!);
    expect(notes(db)).toEqual([`${x} kept`]);
    expect(performance.now() - started).toBeLessThan(1_000); // no wait for a lock this thread holds
    await settled;
    expect(readStamp(x!)).toBe(currentBootStamp()); // opened: settled at its close
    close(db);
    await whenFilesSettled();
    expect(readStamp(x!)).toBe(0);
  });
});
