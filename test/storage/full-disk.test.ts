import { spawnSync } from "node:child_process";
import { closeSync, existsSync, ftruncateSync, fstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/platform/agent.ts";
import { ActorHost as Host } from "../../src/host/host.ts";
import { createAgentFile, templateBytes } from "../../src/storage/agent-file-setup.ts";
import { AgentDatabase } from "../../src/storage/database.ts";
import { closeFilePool, pooledFolders } from "../../src/storage/file-pool.ts";
import { whenFilesSettled } from "../../src/storage/settle.ts";
import { closeUnsettledLogs } from "../../src/storage/unsettled-log.ts";

const STAMP = 0x1357_2468;

/** A 2 MB tmpfs of its own: a disk that really fills up (root only; skipped elsewhere). */
const disk = mkdtempSync(join(tmpdir(), "hearth-full-disk-"));
const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", disk], { encoding: "utf8" });
const mounted = mount.status === 0;
const skipReason = mounted ? "" : `mounting a small tmpfs is not permitted here (${(mount.stderr || mount.error?.message || "").trim()})`;

afterAll(() => {
  if (mounted) spawnSync("umount", [disk]);
  rmSync(disk, { recursive: true, force: true });
});

let serial = 0;
const filler = () => join(disk, "filler");
afterEach(async () => {
  await closeFilePool(join(disk, "data"));
  await whenFilesSettled();
  closeUnsettledLogs();
  rmSync(filler(), { force: true });
  rmSync(join(disk, "data"), { recursive: true, force: true });
});

/** Fills the disk but `free` bytes. */
function fillBut(free: number): void {
  const fd = openSync(filler(), "a");
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe("ENOSPC");
  }
  ftruncateSync(fd, Math.max(0, fstatSync(fd).size - free));
  closeSync(fd);
}

function agentsDir(): string {
  const dir = join(disk, "data", "agents", "notes", "ab");
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Every agent database file and its size. */
function sizes(dir: string): Map<string, number> {
  return new Map(readdirSync(dir).filter((name) => name.endsWith(".sqlite")).map((name) => [name, statSync(join(dir, name)).size]));
}

class Notes extends Agent {
  override onRequest(): Response {
    this.sql`CREATE TABLE IF NOT EXISTS notes (text TEXT)`;
    this.sql`INSERT INTO notes (text) VALUES ('kept')`;
    return new Response(String(this.sql<{ n: number }>`SELECT count(*) AS n FROM notes`[0]!.n));
  }
}

describe.skipIf(!mounted)(`a new agent's file on a full disk${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
  it("fails the request that creates it with an error naming the file and the full disk, keeps no truncated file, and is made by the next request once there is room", async () => {
    const data = join(disk, "data");
    const host = new Host({ dataDir: data, agents: { Notes } });
    try {
      expect(await (await host.request("Notes", "first", new Request("http://x/agents/notes/first"))).text()).toBe("1");
      fillBut(8192); // half the template's 16 KiB
      const failed = await host.request("Notes", "second", new Request("http://x/agents/notes/second")).then(
        async (response) => `${response.status} ${await response.text()}`,
        (error: unknown) => String(error),
      );
      expect(failed).toMatch(/Cannot create agent file .*second.*\.sqlite: the disk is full/);
      const files = readdirSync(join(data, "agents", "notes"), { recursive: true }).map(String);
      expect(files.filter((name) => name.includes("second"))).toEqual([]);
      rmSync(filler());
      expect(await (await host.request("Notes", "second", new Request("http://x/agents/notes/second"))).text()).toBe("1");
      expect(await (await host.request("Notes", "second", new Request("http://x/agents/notes/second"))).text()).toBe("2");
    } finally {
      await host.close();
    }
  });

  it("with strict durability, leaves neither the file nor its temporary .new behind", () => {
    const dir = agentsDir();
    const path = join(dir, `strict-${serial++}.sqlite`);
    fillBut(8192);
    const open = () => new AgentDatabase({ path, durability: "strict", identity: "notes/strict", currentOwner: () => undefined, bootStamp: STAMP });
    expect(() => open().hasTable("notes")).toThrow(/Cannot create agent file .*strict-\d+\.sqlite\.new: the disk is full \(8192 of 16384 bytes written/);
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.new`)).toBe(false);
    rmSync(filler());
    const db = open();
    db.execScript("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('kept')");
    expect(db.statement("SELECT text FROM notes").all()).toEqual([{ text: "kept" }]);
    db.close();
  });

  it("never hands out a short file from the pool of files made ahead, as the disk fills up", async () => {
    const dir = agentsDir();
    const folder = join(disk, "data", "agents");
    let made = 0;
    while (!pooledFolders().includes(folder)) createAgentFile(join(dir, `p${made++}.sqlite`), STAMP);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the maker makes its files
    fillBut(8192);
    const errors: string[] = [];
    for (let i = 0; i < 80 && errors.length < 3; i++) {
      try {
        createAgentFile(join(dir, `p${made++}.sqlite`), STAMP);
      } catch (error) {
        errors.push((error as Error).message);
      }
    }
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatch(/the disk is full/);
    for (const [name, size] of sizes(dir)) expect([name, size]).toEqual([name, templateBytes().length]);
  });
});
