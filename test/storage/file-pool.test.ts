import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/platform/agent.ts";
import { ActorHost as Host } from "../../src/host/host.ts";
import { createAgentFile } from "../../src/storage/agent-file-setup.ts";
import { readStamp } from "../../src/storage/file-stamp.ts";
import { AgentDatabase } from "../../src/storage/database.ts";
import { BATCH_FOLDERS, POOL_BATCH } from "../../src/storage/file-maker-slots.ts";
import { closeFilePool, holdWal, pooledFolders, pooledReady, returnHeldWal, takePooledWal } from "../../src/storage/file-pool.ts";
import { whenFilesSettled } from "../../src/storage/settle.ts";
import { closeUnsettledLogs } from "../../src/storage/unsettled-log.ts";

const STAMP = 0x2468_1357;
const dataDirs: string[] = [];

afterEach(async () => {
  for (const dir of dataDirs) await closeFilePool(dir);
  await whenFilesSettled();
  closeUnsettledLogs();
  for (const dir of dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hearth-file-pool-"));
  dataDirs.push(dir);
  mkdirSync(join(dir, "agents", "counter", "ab"), { recursive: true });
  return dir;
}

const fileOf = (dir: string, i: number) => join(dir, "agents", "counter", "ab", `a${i}.sqlite`);
const openDatabase = (path: string, identity: string) => new AgentDatabase({ path, durability: "relaxed", identity, currentOwner: () => undefined, bootStamp: STAMP });

/** Inode numbers of the files the pool holds ready now, by kind. */
function pooledInodes(dir: string): { db: Set<number>; wal: Set<number> } {
  const found = { db: new Set<number>(), wal: new Set<number>() };
  const root = join(dir, "agents", ".pool");
  for (const pool of existsSync(root) ? readdirSync(root) : []) {
    for (const batch of readdirSync(join(root, pool))) {
      if (!/^(db|wal)-/.test(batch)) continue; // held/: the second names of open databases' -wal files
      const kind = batch.startsWith("db-") ? found.db : found.wal;
      for (const file of readdirSync(join(root, pool, batch))) kind.add(statSync(join(root, pool, batch, file)).ino);
    }
  }
  return found;
}

/** Makes new files until the folder has a pool with files of both kinds made; returns how many were made. */
async function startPool(dir: string): Promise<number> {
  let made = 0;
  while (!pooledFolders().includes(join(dir, "agents"))) {
    createAgentFile(fileOf(dir, made++), STAMP);
    expect(made).toBeLessThan(10_000);
  }
  await poolReady(dir);
  return made;
}

/** Waits until the folder's pool has files of both kinds ready to take (made and published by its maker). */
async function poolReady(dir: string): Promise<void> {
  for (const deadline = Date.now() + 20_000; ; ) {
    const ready = pooledReady(join(dir, "agents"));
    if (ready !== undefined && ready.db > 1 && ready.wal > 1) return;
    expect(Date.now()).toBeLessThan(deadline);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("the pool of new agent files", () => {
  it("starts with a burst of new files and then hands out files made ahead: the stamped template and an empty -wal", async () => {
    const dir = dataDir();
    const made = await startPool(dir);
    const ready = pooledInodes(dir);
    const path = fileOf(dir, made);
    createAgentFile(path, STAMP);
    expect(ready.db.has(statSync(path).ino)).toBe(true);
    expect(ready.wal.has(statSync(`${path}-wal`).ino)).toBe(true);
    expect(statSync(`${path}-wal`).size).toBe(0);
    expect(readStamp(path)).toBe(STAMP);
    // Byte for byte the file made on the spot, and a working database.
    expect(readFileSync(path).equals(readFileSync(fileOf(dir, 0)))).toBe(true);
    const db = openDatabase(path, "counter/pooled");
    db.execScript("CREATE TABLE notes (text TEXT)");
    db.statement("INSERT INTO notes (text) VALUES ('kept')").run();
    db.close();
    const again = openDatabase(path, "counter/pooled");
    expect(again.statement("SELECT text FROM notes").all()).toEqual([{ text: "kept" }]);
    again.close();
  });

  it("makes batch after batch in the same few folders: no folder is removed or made again while it runs", async () => {
    const dir = dataDir();
    let made = await startPool(dir);
    const root = join(dir, "agents", ".pool");
    const folders = () => {
      const [pool] = readdirSync(root);
      const found = new Map<string, number>();
      for (const name of readdirSync(join(root, pool!))) if (/^(db|wal)-/.test(name)) found.set(name, statSync(join(root, pool!, name)).ino);
      return found;
    };
    // Take ten times what the folders hold, waiting for the maker whenever it is behind.
    const before = new Map<string, number>();
    for (let round = 0; round < 10 * BATCH_FOLDERS; round++) {
      for (let i = 0; i < POOL_BATCH; i++) createAgentFile(fileOf(dir, made++), STAMP);
      await poolReady(dir);
      for (const [name, inode] of folders()) if (!before.has(name)) before.set(name, inode);
    }
    const after = folders();
    expect(after.size).toBe(2 * BATCH_FOLDERS);
    expect(after).toEqual(before);
  });

  it("replaces a -wal left at the path by a destroyed agent with an empty one, so it is never replayed", async () => {
    const dir = dataDir();
    const made = await startPool(dir);
    const path = fileOf(dir, made);
    writeFileSync(`${path}-wal`, Buffer.alloc(4096, 7));
    createAgentFile(path, STAMP);
    expect(statSync(`${path}-wal`).size).toBe(0);
    const db = openDatabase(path, "counter/fresh");
    expect(db.hasTable("notes")).toBe(false);
    db.close();
  });

  it("gives a closed database an empty -wal from the pool, and never replaces a -wal SQLite kept", async () => {
    const dir = dataDir();
    const made = await startPool(dir);
    const closed = fileOf(dir, made);
    createAgentFile(closed, STAMP);
    rmSync(`${closed}-wal`);
    const ready = pooledInodes(dir).wal;
    expect(takePooledWal(join(dir, "agents"), closed)).toBe(true);
    expect(ready.has(statSync(`${closed}-wal`).ino)).toBe(true);

    const kept = fileOf(dir, made + 1);
    createAgentFile(kept, STAMP);
    writeFileSync(`${kept}-wal`, "frames SQLite could not checkpoint");
    expect(takePooledWal(join(dir, "agents"), kept)).toBe(true);
    expect(readFileSync(`${kept}-wal`, "utf8")).toBe("frames SQLite could not checkpoint");
  });

  it("keeps an open database's -wal under a second name; at close the database gets a pooled empty -wal and the maker empties the old one and pools it again", async () => {
    const dir = dataDir();
    const made = await startPool(dir);
    const path = fileOf(dir, made);
    createAgentFile(path, STAMP);
    const open = () => openDatabase(path, "counter/held");
    const db = open();
    db.execScript("CREATE TABLE notes (text TEXT)");
    db.statement("INSERT INTO notes (text) VALUES ('one')").run();
    db.flush();
    const wal = statSync(`${path}-wal`);
    expect(wal.size).toBeGreaterThan(0);
    expect(wal.nlink).toBe(2); // its second name, in the pool
    const ready = pooledInodes(dir).wal;
    db.close();
    const after = statSync(`${path}-wal`);
    expect(ready.has(after.ino)).toBe(true);
    expect([after.size, after.nlink]).toEqual([0, 1]);
    // The maker empties the old file, and its next batch of -wal files reuses it: no file made or freed.
    const root = join(dir, "agents", ".pool");
    // Sizes of the old file under the names that match. The maker moves files and removes emptied
    // batch folders meanwhile: a listing that meets a removed folder is taken again.
    const list = (): string[] => {
      for (;;) {
        try {
          return readdirSync(root, { recursive: true }).map(String);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        }
      }
    };
    const sizesAt = (where: RegExp) =>
      list()
        .filter((name) => where.test(name))
        .map((name) => statSync(join(root, name), { throwIfNoEntry: false }))
        .filter((stat) => stat?.ino === wal.ino)
        .map((stat) => stat!.size);
    let taken = 0;
    for (const deadline = Date.now() + 20_000; sizesAt(/\/wal-\d+\/\d+$/).length === 0; ) {
      expect(Date.now()).toBeLessThan(deadline);
      if (sizesAt(/\/held\/\d+$/).includes(0)) createAgentFile(fileOf(dir, made + 1 + taken++), STAMP);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(sizesAt(/\/wal-\d+\/\d+$/)).toEqual([0]);
    expect(taken).toBeLessThanOrEqual(48); // reused by the next batch the maker makes, not some later one
    const again = open();
    expect(again.statement("SELECT text FROM notes").all()).toEqual([{ text: "one" }]);
    again.close();
  });

  it("starts with a burst of closes that each make an empty -wal too (a server restarted on its agents), and then gives closes pooled ones", async () => {
    const dir = dataDir();
    const count = 24;
    for (let i = 0; i < count; i++) createAgentFile(fileOf(dir, i), STAMP);
    await closeFilePool(dir); // as after a restart: files on disk, no pool, no burst counted
    expect(pooledFolders()).not.toContain(join(dir, "agents"));
    const cycle = (i: number) => {
      const db = openDatabase(fileOf(dir, i), `counter/${i}`);
      db.statement("SELECT 1").get();
      db.close();
    };
    const openBefore = openDatabase(fileOf(dir, 20), "counter/20");
    openBefore.statement("SELECT 1").get();
    for (let i = 0; i < 16; i++) cycle(i); // sixteen closes, each -wal made on the spot
    expect(pooledFolders()).toContain(join(dir, "agents"));
    await poolReady(dir);
    const ready = pooledInodes(dir).wal;
    openBefore.close(); // opened before the pool: its close takes a pooled -wal instead of making one
    expect(ready.has(statSync(`${fileOf(dir, 20)}-wal`).ino)).toBe(true);
    expect(statSync(`${fileOf(dir, 20)}-wal`).size).toBe(0);
  });

  it("leaves a -wal SQLite kept at close as it is, frames and all, and drops only the second name", async () => {
    const dir = dataDir();
    const made = await startPool(dir);
    const path = fileOf(dir, made);
    createAgentFile(path, STAMP);
    writeFileSync(`${path}-wal`, "frames to replay");
    const held = holdWal(join(dir, "agents"), path)!;
    expect(statSync(held.file).ino).toBe(statSync(`${path}-wal`).ino);
    expect(returnHeldWal(held, path)).toBe(true);
    expect(readFileSync(`${path}-wal`, "utf8")).toBe("frames to replay");
    expect(existsSync(held.file)).toBe(false);
  });

  it("is not used for files outside an agents folder, nor for strict durability (stamp 0)", async () => {
    const dir = dataDir();
    const elsewhere = join(dir, "loose");
    mkdirSync(elsewhere);
    for (let i = 0; i < 40; i++) createAgentFile(join(elsewhere, `f${i}.sqlite`), STAMP);
    expect(pooledFolders()).not.toContain(elsewhere);

    const made = await startPool(dir);
    const ready = pooledInodes(dir).db;
    const strict = fileOf(dir, made);
    createAgentFile(strict, 0);
    expect(readStamp(strict)).toBe(0);
    expect(ready.has(statSync(strict).ino)).toBe(false);
  });

  it("falls back to making files on the spot when its folder is removed under it", async () => {
    const dir = dataDir();
    const made = await startPool(dir);
    rmSync(join(dir, "agents", ".pool"), { recursive: true, force: true, maxRetries: 20 }); // the maker may be writing into it
    for (let i = made; i < made + 40; i++) {
      const path = fileOf(dir, i);
      createAgentFile(path, STAMP);
      expect(readStamp(path)).toBe(STAMP);
    }
  });

  it("removes the pools of processes that are gone when a new one starts", async () => {
    const dir = dataDir();
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout;
    const stale = join(dir, "agents", ".pool", `${gone}.0.0`, "db-0");
    mkdirSync(stale, { recursive: true });
    writeFileSync(join(stale, "0"), "stale");
    await startPool(dir);
    for (const deadline = Date.now() + 20_000; existsSync(stale); ) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });
});

class Counter extends Agent<unknown, { count: number }> {
  override initialState = { count: 0 };
  override onRequest(): Response {
    this.setState({ count: this.state.count + 1 });
    return Response.json(this.state);
  }
}

describe("a host creating agents in a burst", () => {
  it("creates them from its pool, keeps their state, and removes the pool when it closes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-file-pool-host-"));
    dataDirs.push(dir);
    const host = new Host({ dataDir: dir, agents: { Counter } });
    const ask = async (name: string) => (await (await host.request("Counter", name, new Request(`http://x/agents/counter/${name}`))).json()) as { count: number };
    let made = 0;
    while (!pooledFolders().includes(join(dir, "agents"))) {
      expect((await ask(`burst-${made++}`)).count).toBe(1);
      expect(made).toBeLessThan(10_000);
    }
    await poolReady(dir);
    const ready = pooledInodes(dir).db;
    expect((await ask("from-the-pool")).count).toBe(1);
    const file = readdirSync(join(dir, "agents", "counter"), { recursive: true }).map(String).find((name) => name.includes("from-the-pool-"))!;
    expect(ready.has(statSync(join(dir, "agents", "counter", file)).ino)).toBe(true);
    await host.close();
    expect(readdirSync(join(dir, "agents", ".pool"))).toEqual([]);
    expect(pooledFolders()).not.toContain(join(dir, "agents"));

    const again = new Host({ dataDir: dir, agents: { Counter } });
    const reopened = async (name: string) => (await (await again.request("Counter", name, new Request(`http://x/agents/counter/${name}`))).json()) as { count: number };
    expect((await reopened("from-the-pool")).count).toBe(2);
    expect((await reopened("burst-0")).count).toBe(2);
    await again.close();
  });
});
