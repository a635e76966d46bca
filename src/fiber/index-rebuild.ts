import type { DatabaseSync } from "node:sqlite";
import type { FileWakeSource } from "../schedule/rebuild-index.ts";
import { FIBERS_TABLE } from "./fiber-store.ts";

/**
 * For rebuilding the host's due index from agent files (when `host.sqlite` is missing): when the
 * file's agent must be woken for its fibers, read over a raw connection. `now` when fibers its last
 * process left running await recovery, else the earliest recovery due again after a failed attempt;
 * null when there is nothing to recover (or the agent never ran a fiber).
 */
export function fiberWakeInFile(db: DatabaseSync, now: number): number | null {
  if (db.prepare("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = '_hearth_fibers'").get() === undefined) return null;
  const row = db
    .prepare(
      `SELECT CASE WHEN EXISTS (SELECT 1 FROM _hearth_fibers WHERE status IN ('pending', 'running')) THEN ?
       ELSE (SELECT min(recover_at) FROM _hearth_fibers WHERE recover_at IS NOT NULL) END AS at`,
    )
    .get(now) as { at: number | null } | undefined;
  return row?.at ?? null;
}

/** Fibers as a wake source of the host (see `FileWakeSource`): an agent with fibers awaiting recovery is woken for them. */
export const FIBER_WAKES: FileWakeSource = { table: FIBERS_TABLE, read: fiberWakeInFile };
