import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Durability } from "../limits.ts";
import { openHostDatabase } from "../storage/host-database.ts";

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS cron_runs (
    cron TEXT PRIMARY KEY,
    last_scheduled INTEGER NOT NULL
  ) WITHOUT ROWID;`;

/**
 * Per cron trigger, the latest scheduled time that ran (or, for a trigger seen for the first time,
 * when it was first seen): what tells a restarted process which run it missed.
 */
export class CronRunStore {
  readonly #db: DatabaseSync;
  readonly #get: StatementSync;
  readonly #record: StatementSync;
  readonly #forget: StatementSync;
  #closed = false;

  constructor(path: string, durability: Durability) {
    this.#db = openHostDatabase(path, durability, "cron trigger store", SCHEMA);
    this.#get = this.#db.prepare("SELECT last_scheduled FROM cron_runs WHERE cron = ?");
    // Runs may end out of order (a slow one after a later one): the record only moves forward.
    this.#record = this.#db.prepare(
      `INSERT INTO cron_runs (cron, last_scheduled) VALUES (?, ?)
       ON CONFLICT (cron) DO UPDATE SET last_scheduled = MAX(last_scheduled, excluded.last_scheduled)`,
    );
    this.#forget = this.#db.prepare("DELETE FROM cron_runs WHERE cron = ?");
  }

  /** The recorded time of a trigger, epoch ms, or undefined for one never seen. */
  last(cron: string): number | undefined {
    const at = this.#get.get(cron)?.last_scheduled;
    return typeof at === "number" ? at : undefined;
  }

  /** Records that the run scheduled at `scheduledTime` happened (or that the trigger was first seen then). */
  record(cron: string, scheduledTime: number): void {
    if (this.#closed) return;
    this.#record.run(cron, scheduledTime);
  }

  /** Drops the records of triggers no longer configured. */
  keepOnly(crons: readonly string[]): void {
    const keep = new Set(crons);
    for (const row of this.#db.prepare("SELECT cron FROM cron_runs").all()) {
      if (!keep.has(row.cron as string)) this.#forget.run(row.cron as string);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}
