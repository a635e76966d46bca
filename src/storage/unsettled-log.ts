import { closeSync, existsSync, ftruncateSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { threadId } from "node:worker_threads";

/**
 * Which agent files were created without fsync, kept in `<dataDir>/agents/.unsettled.<pid>.<thread>`
 * (one absolute path a line, appended, never fsynced; one log per thread, as each thread settles the
 * files it closed). A process killed before its background settles ran leaves
 * files stamped with this boot: the next process on the data dir takes its log over when its host
 * starts (or at its first new file, without a host) and settles them, so a reboot later does not take
 * them for torn. After a power loss the log may miss lines, but then
 * the files it misses are stamped by an earlier boot and are caught at their open anyway.
 */
const LOG = ".unsettled";
const MINE = `${LOG}.${process.pid}.${threadId}`;
const logs = new Map<string, number>();
/** Agents folders whose dead processes' logs this thread has taken over. */
const takenOver = new Set<string>();
/** Takeovers whose settles are under way. */
const takeovers = new Set<Promise<void>>();

/** The agents folder a file belongs to: `<dataDir>/agents/<class>/<xx>/<file>`, facets below a root's `.facets`. */
export function agentsFolderOf(file: string): string {
  const parts = file.split(sep);
  const facets = parts.findIndex((part) => part.endsWith(".facets"));
  const root = facets < 0 ? file : parts.slice(0, facets + 1).join(sep);
  const folder = dirname(dirname(dirname(root)));
  // A file outside the usual layout (tests, tools) keeps its log next to it.
  return basename(folder) === "agents" ? folder : dirname(file);
}

/** Settles the files an earlier process's log lists, those stamped `stamp` (this boot's). */
export type RecoverUnsettled = (files: string[], stamp: number) => Promise<void>;

/**
 * Notes a file about to be written without fsync, stamped `stamp`. The first note in a data dir by
 * this process first hands the earlier processes' logs to `recover` (when no host took them over).
 */
export function recordUnsettled(path: string, stamp: number, recover: RecoverUnsettled): void {
  const file = resolve(path);
  const folder = agentsFolderOf(file);
  takeOverUnsettledLogs(folder, stamp, recover);
  writeSync(ownLog(folder), `${file}\n`);
}

/**
 * Lists in this thread's log a file written without fsync that this process did not create (a killed
 * process's, opened again before it was settled): a file open unsettled is always in the log of the
 * thread that has it open, which keeps its log while it is (settle.ts), so a crash leaves it listed
 * even after the log that listed it first was taken over and removed.
 */
export function listUnsettled(path: string): void {
  const file = resolve(path);
  writeSync(ownLog(agentsFolderOf(file)), `${file}\n`);
}

/**
 * Takes over the logs of processes on this data dir that are gone, once per agents folder: their
 * names are read and the logs claimed now (a scan of the folder's names), and what they list is read
 * and settled in the background; the logs are removed once that is done. A host calls it when it
 * starts, so files a killed process left are settled whether or not agents are created.
 * @example takeOverUnsettledLogs(join(dataDir, "agents"), currentBootStamp(), settleLeftovers);
 */
export function takeOverUnsettledLogs(folder: string, stamp: number, recover: RecoverUnsettled): void {
  if (takenOver.has(folder)) return;
  takenOver.add(folder);
  const taken = claimEarlierLogs(folder);
  if (taken.length === 0) return;
  const done = settleTaken(taken, stamp, recover).finally(() => takeovers.delete(done));
  takeovers.add(done);
}

/** Resolves when the logs taken over so far are settled and removed (a host closing waits for it). */
export async function whenLogsTakenOver(): Promise<void> {
  while (takeovers.size > 0) await Promise.all(takeovers);
}

function ownLog(folder: string): number {
  let fd = logs.get(folder);
  if (fd === undefined) {
    fd = openSync(join(folder, MINE), "a");
    logs.set(folder, fd);
  }
  return fd;
}

/** Nothing is unsettled in this process any more: the logs start over. */
export function clearUnsettledLogs(): void {
  for (const fd of logs.values()) {
    try {
      ftruncateSync(fd, 0);
    } catch {
      // The data dir is gone.
    }
  }
}

/** Closes the logs (tests, shutdown). */
export function closeUnsettledLogs(): void {
  for (const fd of logs.values()) closeSync(fd);
  logs.clear();
  takenOver.clear();
}

/**
 * Renames the logs left by processes that are gone to names of this process: they are this one's to
 * settle (a process killed meanwhile leaves them for the next one, under its name). Logs of this
 * process (other threads) and of live processes are theirs.
 */
function claimEarlierLogs(folder: string): string[] {
  if (!existsSync(folder)) return [];
  const taken: string[] = [];
  for (const name of readdirSync(folder)) {
    const owner = name.startsWith(`.taken${LOG}.`) ? name.split(".")[3] : name.startsWith(`${LOG}.`) ? name.split(".")[2] : undefined;
    if (owner === undefined || isLiveProcess(Number(owner))) continue;
    const mine = join(folder, `.taken${LOG}.${process.pid}.${threadId}.${taken.length}`);
    try {
      renameSync(join(folder, name), mine);
      taken.push(mine);
    } catch {
      // Another process on this data dir took it (it will fail on the files' locks anyway).
    }
  }
  return taken;
}

/** Settles what the taken logs list with this boot's stamp, then removes them. */
async function settleTaken(taken: string[], stamp: number, recover: RecoverUnsettled): Promise<void> {
  const files = new Set<string>();
  try {
    for (const log of taken) {
      for (const line of (await readFile(log, "utf8")).split("\n")) if (line.endsWith(".sqlite")) files.add(line);
    }
    await recover([...files], stamp);
  } catch (error) {
    console.error("[hearth] could not settle the agent files a stopped process left unsettled:", error);
    return; // the logs stay, for the next process
  }
  for (const log of taken) rmSync(log, { force: true });
}

/** Whether a process of this id runs (this one included); a log of a live process is not taken. */
export function isLiveProcess(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
