import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import { threadId } from "node:worker_threads";

/**
 * Which agent files were created without fsync, kept in `<dataDir>/agents/.unsettled.<pid>.<thread>`
 * (one absolute path a line, appended, never fsynced; one log per thread, as each thread settles the
 * files it closed). A process killed before its background settles ran leaves
 * files stamped with this boot: the next process on the data dir reads the log and settles them, so
 * a reboot later does not take them for torn. After a power loss the log may miss lines, but then
 * the files it misses are stamped by an earlier boot and are caught at their open anyway.
 */
const LOG = ".unsettled";
const MINE = `${LOG}.${process.pid}.${threadId}`;
const logs = new Map<string, number>();

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
 * this process first hands the earlier process's log to `recover`.
 */
export function recordUnsettled(path: string, stamp: number, recover: RecoverUnsettled): void {
  const file = resolve(path);
  const folder = agentsFolderOf(file);
  let fd = logs.get(folder);
  if (fd === undefined) {
    takeOverEarlierLogs(folder, stamp, recover);
    fd = openSync(join(folder, MINE), "a");
    logs.set(folder, fd);
  }
  writeSync(fd, `${file}\n`);
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
}

/**
 * Renames the logs left by processes that are gone, settles what they list with this boot's stamp,
 * then removes them. Logs of this process (other threads) and of live processes are theirs.
 */
function takeOverEarlierLogs(folder: string, stamp: number, recover: RecoverUnsettled): void {
  if (!existsSync(folder)) return;
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
  if (taken.length === 0) return;
  const files = new Set<string>();
  for (const log of taken) {
    for (const line of readFileSync(log, "utf8").split("\n")) if (line.endsWith(".sqlite")) files.add(line);
  }
  void recover([...files], stamp).finally(() => {
    // Left until then: a process killed meanwhile leaves them for the next one, under its name.
    for (const log of taken) rmSync(log, { force: true });
  });
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
