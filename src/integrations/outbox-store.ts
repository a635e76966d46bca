/**
 * The table of an agent's outbound webhooks: each pending delivery with what is needed to send it,
 * delivered ones for a while (without their body and secret), and dead letters until retried or
 * discarded.
 */
import type { AgentDatabase } from "../storage/database.ts";

export type OutboxStatus = "pending" | "delivered" | "dead";

/** A row of `_hearth_webhook_outbox`. */
export interface OutboxRow {
  id: string;
  url: string;
  style: string;
  body: Uint8Array | null;
  headers: string | null;
  secret: string | null;
  /** JSON of the delivery policy: retry, timeoutMs, allowPrivate, allowHosts. */
  policy: string;
  status: OutboxStatus;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
}

const TABLE = "_hearth_webhook_outbox";
const SCHEMA = `
CREATE TABLE IF NOT EXISTS ${TABLE} (
  id TEXT PRIMARY KEY, url TEXT NOT NULL, style TEXT NOT NULL, body BLOB, headers TEXT, secret TEXT, policy TEXT NOT NULL,
  status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_status INTEGER, last_error TEXT, next_attempt_at INTEGER,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ${TABLE}_status ON ${TABLE} (status, updated_at);`;

/** Pending deliveries per agent at most: a sender far ahead of its receiver is told, not buffered without end. */
export const MAX_PENDING_WEBHOOKS = 10_000;
/** Delivered webhooks remembered per agent (newest kept), for `getWebhook`. */
export const MAX_DELIVERED_KEPT = 1_000;
/** Dead letters kept per agent (the oldest are dropped beyond it). */
export const MAX_DEAD_LETTERS = 10_000;

export class OutboxStore {
  readonly #db: AgentDatabase;
  constructor(db: AgentDatabase) {
    this.#db = db;
  }

  get #exists(): boolean {
    return this.#db.hasTable(TABLE);
  }

  get(id: string): OutboxRow | undefined {
    if (!this.#exists) return undefined;
    return this.#db.statement(`SELECT * FROM ${TABLE} WHERE id = ?`).get(id) as OutboxRow | undefined;
  }

  countPending(): number {
    if (!this.#exists) return 0;
    return Number((this.#db.statement(`SELECT count(*) AS n FROM ${TABLE} WHERE status = 'pending'`).get() as { n: number }).n);
  }

  insert(row: Pick<OutboxRow, "id" | "url" | "style" | "body" | "headers" | "secret" | "policy" | "created_at">): void {
    if (!this.#exists) this.#db.execScript(SCHEMA);
    this.#db
      .statement(
        `INSERT INTO ${TABLE} (id, url, style, body, headers, secret, policy, status, created_at, updated_at, next_attempt_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)`,
      )
      .run(row.id, row.url, row.style, row.body, row.headers, row.secret, row.policy, row.created_at, row.created_at, row.created_at);
  }

  /** An attempt starts: counted before the request leaves, so one cut short by a crash counts too. */
  startAttempt(id: string, now: number): void {
    this.#db.statement(`UPDATE ${TABLE} SET attempts = attempts + 1, updated_at = ?, next_attempt_at = NULL WHERE id = ?`).run(now, id);
  }

  retryLater(id: string, now: number, at: number, lastStatus: number | null, lastError: string): void {
    this.#db
      .statement(`UPDATE ${TABLE} SET last_status = ?, last_error = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?`)
      .run(lastStatus, lastError, at, now, id);
  }

  delivered(id: string, now: number, status: number): void {
    this.#db
      .statement(
        `UPDATE ${TABLE} SET status = 'delivered', body = NULL, headers = NULL, secret = NULL, last_status = ?, last_error = NULL,
         next_attempt_at = NULL, updated_at = ? WHERE id = ?`,
      )
      .run(status, now, id);
    this.#trim("delivered", MAX_DELIVERED_KEPT);
  }

  dead(id: string, now: number, lastStatus: number | null, lastError: string): void {
    this.#db
      .statement(`UPDATE ${TABLE} SET status = 'dead', last_status = ?, last_error = ?, next_attempt_at = NULL, updated_at = ? WHERE id = ?`)
      .run(lastStatus, lastError, now, id);
    this.#trim("dead", MAX_DEAD_LETTERS);
  }

  /** A dead letter back to pending with no attempts; false when `id` is not a dead letter. */
  revive(id: string, now: number): boolean {
    if (!this.#exists) return false;
    const result = this.#db
      .statement(`UPDATE ${TABLE} SET status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ? WHERE id = ? AND status = 'dead'`)
      .run(now, now, id);
    return Number(result.changes) > 0;
  }

  discard(id: string): boolean {
    if (!this.#exists) return false;
    return Number(this.#db.statement(`DELETE FROM ${TABLE} WHERE id = ? AND status = 'dead'`).run(id).changes) > 0;
  }

  list(status: OutboxStatus, limit: number): OutboxRow[] {
    if (!this.#exists) return [];
    return this.#db.statement(`SELECT * FROM ${TABLE} WHERE status = ? ORDER BY updated_at DESC, id LIMIT ?`).all(status, limit) as unknown as OutboxRow[];
  }

  #trim(status: OutboxStatus, keep: number): void {
    this.#db
      .statement(`DELETE FROM ${TABLE} WHERE id IN (SELECT id FROM ${TABLE} WHERE status = ? ORDER BY updated_at DESC, id LIMIT -1 OFFSET ?)`)
      .run(status, keep);
  }
}
