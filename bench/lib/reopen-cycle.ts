/**
 * The cost of a message to an agent whose connection was parked: reopen, one write, commit, park
 * again — per agent, on the main thread, for settled files on disk (what an agent past the cap on open
 * connections pays for every message), as Hearth runs it: quiet sessions (decision 0022). `--loud`
 * closes each parked session on the event loop with SQLite's syncs, as where no syncfs is available;
 * for the figure from before quiet sessions, run this file against an older commit's dist/.
 *
 *   node bench/lib/reopen-cycle.ts [agents] [rounds] [dir] [--loud]
 */
import { join } from "node:path";
import { AgentDatabase } from "../../dist/storage/database.js";
import { setQuietCloseSync, whenQuietClosesDone } from "../../dist/storage/quiet-close.js";
import { whenFilesSettled } from "../../dist/storage/settle.js";
import { removeDir, tempDataDir } from "./common.ts";

const args = process.argv.slice(2).filter((arg) => !arg.startsWith("--"));
const loud = process.argv.includes("--loud");
const agents = Number(args[0] ?? 300);
const rounds = Number(args[1] ?? 3);
const dir = tempDataDir("reopen-cycle", args[2] || undefined);
const dbs = Array.from({ length: agents }, (_, i) => new AgentDatabase({ path: join(dir, `a-${i}.sqlite`), durability: "relaxed", identity: `n/${i}`, currentOwner: () => undefined }));
for (const db of dbs) {
  db.execScript("CREATE TABLE hits (n INTEGER, at INTEGER)");
  db.close();
}
await whenFilesSettled();
// Loud: every session is opened quiet but closed the way a non-quiet one is (sync on this thread).
if (loud) setQuietCloseSync(() => Promise.resolve(false));
const reopened = dbs.map((_, i) => new AgentDatabase({ path: join(dir, `a-${i}.sqlite`), durability: "relaxed", identity: `n/${i}`, currentOwner: () => undefined }));
for (const db of reopened) db.park();
await whenQuietClosesDone();
const cpu = process.cpuUsage();
const started = performance.now();
for (let round = 0; round < rounds; round++) {
  for (const db of reopened) {
    db.statement("INSERT INTO hits (n, at) VALUES (?, ?)").run(round, Date.now());
    db.flush();
    db.park();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await whenQuietClosesDone();
}
const used = process.cpuUsage(cpu);
const cycles = agents * rounds;
console.log(`${loud ? "loud" : "quiet"}: ${cycles} reopen + write + park cycles: process CPU ${((used.user + used.system) / cycles).toFixed(0)} µs each, wall ${(performance.now() - started).toFixed(0)} ms (${(((performance.now() - started) * 1000) / cycles).toFixed(0)} µs each)`);
for (const db of reopened) db.close();
await whenFilesSettled();
removeDir(dir);
