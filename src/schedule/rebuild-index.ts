import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { DueEntry, DueIndex } from "./due-index.ts";
import { earliestDue, QUEUE_HEAD_SQL, SCHEDULES_NEXT_DUE_SQL, type TaskRow } from "./task-store.ts";

/**
 * Something besides schedules and the queue that needs an agent woken by the host (fibers waiting
 * for recovery, say): given the agent's file, read-only, when it is due, or null.
 */
export type WakeSource = (db: DatabaseSync, now: number) => number | null;

/**
 * Something else in an agent's file that asks the host to wake it, besides its schedules and queue
 * (fibers awaiting recovery): the table it is kept in (an agent without it has nothing to read), and
 * how it is read.
 */
export interface FileWakeSource {
  readonly table: string;
  readonly read: WakeSource;
}

/**
 * Recreates the host's due index from the agents' own databases: run when the index file is missing
 * but agent files exist (a data directory from before the index, or an index deleted by hand).
 * Every agent file is opened once; that is slow for many agents, so it happens only then.
 */
export function rebuildDueIndex(
  dataDir: string,
  index: DueIndex,
  options: { now: number; wakeSources?: readonly WakeSource[]; owns?: (slug: string, name: string) => boolean } = { now: Date.now() },
): { agents: number; entries: number } {
  let agents = 0;
  const entries: DueEntry[] = [];
  for (const file of agentFiles(join(dataDir, "agents"))) {
    agents++;
    const entry = readEntry(file, options.now, options.wakeSources ?? []);
    if (entry && options.owns?.(entry.slug, rootNameOf(entry.name)) !== false) entries.push(entry);
  }
  index.lowerMany(entries);
  return { agents, entries: entries.length };
}

function* agentFiles(root: string): Generator<string> {
  for (const slug of safeList(root)) {
    for (const fanout of safeList(join(root, slug))) {
      for (const file of safeList(join(root, slug, fanout))) {
        if (file.endsWith(".sqlite")) yield join(root, slug, fanout, file);
      }
    }
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * The index entry an agent file asks for (its earliest task or wake), read from the file while no
 * agent has it open; undefined when nothing in it asks for a wake (or it cannot be read).
 */
export function readEntry(file: string, now: number, wakeSources: readonly WakeSource[]): DueEntry | undefined {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(file);
    const identity = db.prepare("SELECT value FROM _hearth_meta WHERE key = 'identity'").get()?.value;
    if (typeof identity !== "string") return undefined;
    const slash = identity.indexOf("/");
    if (slash < 0) return undefined;
    let at: number | null = null;
    const hasTasks = db.prepare("SELECT 1 AS x FROM sqlite_master WHERE name = '_hearth_schedules'").get() !== undefined;
    if (hasTasks) {
      const schedule = db.prepare(SCHEDULES_NEXT_DUE_SQL).get() as { at: number | null } | undefined;
      const head = db.prepare(QUEUE_HEAD_SQL).get() as TaskRow | undefined;
      at = earliestDue(schedule?.at, head?.due_at);
    }
    for (const source of wakeSources) at = earliestDue(at, source(db, now));
    if (at === null) return undefined;
    return { slug: identity.slice(0, slash), name: identity.slice(slash + 1), at };
  } catch (error) {
    console.error(`[hearth] rebuilding the schedule index: skipped ${file}:`, error instanceof Error ? error.message : error);
    return undefined;
  } finally {
    db?.close();
  }
}

/** The root agent's name in an index name (a sub-agent's is its root's name, then child names after NULs). */
function rootNameOf(indexName: string): string {
  const cut = indexName.indexOf("\0");
  return cut === -1 ? indexName : indexName.slice(0, cut);
}
