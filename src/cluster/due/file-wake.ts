import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fiberWakeInFile } from "../../fiber/index-rebuild.ts";
import { childrenDir, type CellPlace } from "../../host/place.ts";
import { earliestDue, QUEUE_HEAD_SQL, SCHEDULES_NEXT_DUE_SQL } from "../../schedule/task-store.ts";

/**
 * When an agent's file asks to be woken next (epoch ms), or null: its earliest schedule, its queue's
 * head and a fiber awaiting recovery — what a host's due index would hold for it. Read when a node has
 * just rebuilt the file of an agent it took over, so its schedules fire on this node without waiting
 * for a request or for the agent's hibernation. Null for a missing file.
 *
 * @example
 * const at = wakeInFile(place.file, Date.now()); // e.g. 1767225600000, or null
 */
export function wakeInFile(file: string, now: number): number | null {
  if (!existsSync(file)) return null;
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return wakeIn(db, now);
  } finally {
    db.close();
  }
}

/** {@link wakeInFile} on a database already open. */
function wakeIn(db: DatabaseSync, now: number): number | null {
  let at: number | null = null;
  if (hasTable(db, "_hearth_schedules")) {
    const schedule = db.prepare(SCHEDULES_NEXT_DUE_SQL).get() as { at: number | null } | undefined;
    const head = hasTable(db, "_hearth_queue") ? (db.prepare(QUEUE_HEAD_SQL).get() as { due_at?: number } | undefined) : undefined;
    at = earliestDue(schedule?.at, head?.due_at);
  }
  return earliestDue(at, fiberWakeInFile(db, now));
}

/**
 * The wakes a root agent's files ask for: its own and each facet's below it (found in its `.facets`
 * directories, named by the identity each file keeps), as index names (`root`, `root\0child`).
 * @example
 * wakesInTree(rootPlace(dataDir, "inbox", "ada"), Date.now()); // [{ indexName: "ada\0t1", at: 1767225600000 }]
 */
export function wakesInTree(root: CellPlace, now: number): Array<{ indexName: string; at: number }> {
  const wakes: Array<{ indexName: string; at: number }> = [];
  const own = wakeInFile(root.file, now);
  if (own !== null) wakes.push({ indexName: root.rootName, at: own });
  const visit = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith(".sqlite")) {
        const wake = facetWake(path, now);
        if (wake !== undefined) wakes.push(wake);
      }
    }
  };
  visit(childrenDir(root));
  return wakes;
}

/** A facet file's wake under the index name its identity gives (`slug/root\0child` → `root\0child`). */
function facetWake(file: string, now: number): { indexName: string; at: number } | undefined {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const at = wakeIn(db, now);
    if (at === null) return undefined;
    const identity = (db.prepare("SELECT value FROM _hearth_meta WHERE key = 'identity'").get() as { value: string } | undefined)?.value;
    const slash = identity?.indexOf("/") ?? -1;
    return identity === undefined || slash < 0 ? undefined : { indexName: identity.slice(slash + 1), at };
  } finally {
    db.close();
  }
}

function hasTable(db: DatabaseSync, name: string): boolean {
  return db.prepare("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}
