import type { Clock } from "../time/clock.ts";
import { removalTime, type ResolvedRetention } from "./retention.ts";
import type { InstanceRow, WorkflowStore } from "./store.ts";
import type { WorkflowInstanceStatus } from "./types.ts";

/** Longest wait, real time, for the starting agent to hear of an instance's end before its record goes. */
export const REPORT_HOLD_MS = 60_000;

const FINAL = "('complete', 'errored', 'terminated')";

/** What removal needs from the host: its clock and its durable timer (the due index). */
export interface RemovalHost {
  readonly clock: Clock;
  wakeAt(workflow: string, id: string, at: number): void;
}

/**
 * Removes the records of finished instances once their `retention` has run out. The removal time is
 * written with the end, and the instance's entry in the host's due index is lowered to it in the
 * same commit, so a removal survives restarts and needs no polling: the timer that wakes sleeping
 * instances also wakes finished ones, and {@link InstanceRemoval.due} deletes the instance, its steps
 * and its events in one transaction.
 */
export class InstanceRemoval {
  readonly #store: WorkflowStore;
  readonly #host: RemovalHost;
  /** Ends being reported to the starting agent: its tracking row reads the instance meanwhile. */
  readonly #reporting = new Map<string, Promise<unknown>>();
  #closed = false;

  constructor(store: WorkflowStore, host: RemovalHost) {
    this.#store = store;
    this.#host = host;
  }

  /**
   * The instance ends now with `status`: arms its removal timer (before the end is committed, so the
   * timer lands first) and returns the removal time to store with the end; null when it is kept.
   */
  arm(row: Pick<InstanceRow, "workflow" | "id" | "success_retention" | "error_retention">, status: WorkflowInstanceStatus, now: number): number | null {
    const retention: ResolvedRetention = { success: row.success_retention, error: row.error_retention };
    const at = removalTime(retention, status, now);
    if (at !== null) this.#host.wakeAt(row.workflow, row.id, at);
    return at;
  }

  /**
   * Holds a removal back until the starting agent has been told of the end (at most
   * {@link REPORT_HOLD_MS}); call before the end is written, then `release` with the report.
   */
  hold(workflow: string, id: string): (report: Promise<unknown>) => void {
    const key = `${workflow}\0${id}`;
    // Resolved with a box: resolving with the report itself would adopt it, unbounded.
    let release!: (box: { report: Promise<unknown> }) => void;
    const held = new Promise<{ report: Promise<unknown> }>((resolve) => (release = resolve)).then((box) => bounded(box.report));
    this.#reporting.set(key, held);
    void held.finally(() => {
      if (this.#reporting.get(key) === held) this.#reporting.delete(key);
    });
    return (report) => release({ report });
  }

  /**
   * The timer of a finished instance fired: removes it when its time has come. Resolves with the
   * time the timer must be kept for (not yet due), or null (removed, or nothing to remove).
   */
  async due(workflow: string, id: string): Promise<number | null> {
    await this.#reporting.get(`${workflow}\0${id}`);
    if (this.#closed) return this.#host.clock.now();
    const now = this.#host.clock.now();
    let next: number | null = null;
    await this.#store.write(() => {
      // Read in the transaction that deletes: a restart in between (expires_at NULL) keeps the instance.
      const row = this.#store.get<{ expires_at: number | null }>(
        `SELECT expires_at FROM instances WHERE workflow = ? AND id = ? AND status IN ${FINAL}`,
        workflow,
        id,
      );
      if (row?.expires_at === null || row?.expires_at === undefined) return;
      if (row.expires_at > now) {
        next = row.expires_at;
        return;
      }
      this.#store.run("DELETE FROM events WHERE workflow = ? AND instance = ?", workflow, id);
      this.#store.run("DELETE FROM steps WHERE workflow = ? AND instance = ?", workflow, id);
      this.#store.run("DELETE FROM instances WHERE workflow = ? AND id = ?", workflow, id);
    });
    return next;
  }

  /**
   * The due index was lost (its file was missing at boot): arms the timers of every finished
   * instance awaiting removal again. They reach the index with the store's next commit.
   */
  rearm(): number {
    const rows = this.#store.all<{ workflow: string; id: string; expires_at: number }>(
      `SELECT workflow, id, expires_at FROM instances WHERE expires_at IS NOT NULL AND status IN ${FINAL}`,
    );
    if (rows.length === 0) return 0;
    for (const row of rows) this.#host.wakeAt(row.workflow, row.id, row.expires_at);
    void this.#store.write(() => {}).catch((error: unknown) => console.error("[hearth] could not re-arm the removal of finished workflow instances:", error));
    return rows.length;
  }

  close(): void {
    this.#closed = true;
  }
}

/** The report, or its first {@link REPORT_HOLD_MS} (real time: the agent's hook runs in this world). */
function bounded(report: Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, REPORT_HOLD_MS);
    timer.unref();
  });
  return Promise.race([report.catch(() => {}), limit]).finally(() => clearTimeout(timer));
}
