import { existsSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { fiberWakeInFile } from "../../fiber/index-rebuild.ts";
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
    let at: number | null = null;
    if (hasTable(db, "_hearth_schedules")) {
      const schedule = db.prepare(SCHEDULES_NEXT_DUE_SQL).get() as { at: number | null } | undefined;
      const head = hasTable(db, "_hearth_queue") ? (db.prepare(QUEUE_HEAD_SQL).get() as { due_at?: number } | undefined) : undefined;
      at = earliestDue(schedule?.at, head?.due_at);
    }
    return earliestDue(at, fiberWakeInFile(db, now));
  } finally {
    db.close();
  }
}

function hasTable(db: DatabaseSync, name: string): boolean {
  return db.prepare("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}
