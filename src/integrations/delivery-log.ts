/**
 * The inbound webhook deliveries an agent has acted on, in its own SQLite, so a replayed or retried
 * delivery is recognised and not acted on twice: by the sender's delivery id (the same on its
 * retries) and by the signature that verified it (the same on a replay, whatever the replay changed
 * in the unsigned headers). Bounded by age and by rows.
 */
import type { AgentDatabase } from "../storage/database.ts";

/** How long delivery ids are remembered. */
export interface DeliveryRetention {
  /** Days a delivery id is kept. Default 7 (Stripe retries for up to 3 days). */
  days?: number;
  /** Ids kept per agent at most; the oldest go first. Default 10 000. */
  maxRows?: number;
}

export const DEFAULT_DELIVERY_RETENTION: Required<DeliveryRetention> = Object.freeze({ days: 7, maxRows: 10_000 });

const TABLE = "_hearth_webhook_deliveries";
const SIGNATURE_INDEX = `CREATE INDEX IF NOT EXISTS ${TABLE}_signature ON ${TABLE} (source, signature);`;
const SCHEMA = `
CREATE TABLE IF NOT EXISTS ${TABLE} (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, delivery_id TEXT NOT NULL, received_at INTEGER NOT NULL,
  signature TEXT,
  UNIQUE (source, delivery_id)
);
CREATE INDEX IF NOT EXISTS ${TABLE}_age ON ${TABLE} (received_at);
${SIGNATURE_INDEX}`;
/** The signature column came later: a table from an earlier version gets it on its next record. */
const ADD_SIGNATURE = `
ALTER TABLE ${TABLE} ADD COLUMN signature TEXT;
${SIGNATURE_INDEX}`;

export function resolveRetention(retention: DeliveryRetention | undefined): Required<DeliveryRetention> {
  const days = retention?.days ?? DEFAULT_DELIVERY_RETENTION.days;
  const maxRows = retention?.maxRows ?? DEFAULT_DELIVERY_RETENTION.maxRows;
  if (!Number.isFinite(days) || days <= 0) throw new RangeError(`retention.days must be a number > 0, got ${String(days)}`);
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError(`retention.maxRows must be an integer >= 1, got ${String(maxRows)}`);
  return { days, maxRows };
}

/** What identifies a delivery: either one seen before makes it a duplicate. */
export interface DeliveryKeys {
  deliveryId: string;
  /** The signatures a copy of it may carry (hex); the one that verified it is recorded. */
  signatures: readonly string[];
}

/** Whether a delivery with this id, or signed with one of these signatures, was acted on (and is still remembered). */
export function wasDelivered(db: AgentDatabase, source: string, keys: DeliveryKeys): boolean {
  if (!db.hasTable(TABLE)) return false;
  if (keys.signatures.length === 0 || !hasSignatureColumn(db)) {
    return db.statement(`SELECT 1 AS x FROM ${TABLE} WHERE source = ? AND delivery_id = ?`).get(source, keys.deliveryId) !== undefined;
  }
  const marks = keys.signatures.map(() => "?").join(", ");
  const seen = db.statement(`SELECT 1 AS x FROM ${TABLE} WHERE source = ? AND (delivery_id = ? OR signature IN (${marks}))`);
  return seen.get(source, keys.deliveryId, ...keys.signatures) !== undefined;
}

/** Records a delivery as acted on, with the signature that verified it, then forgets what is past the retention. */
export function recordDelivery(
  db: AgentDatabase,
  source: string,
  delivery: { deliveryId: string; signature: string },
  now: number,
  retention: Required<DeliveryRetention>,
): void {
  if (!db.hasTable(TABLE)) db.execScript(SCHEMA);
  else if (!hasSignatureColumn(db)) db.execScript(ADD_SIGNATURE);
  db.statement(`INSERT INTO ${TABLE} (source, delivery_id, received_at, signature) VALUES (?, ?, ?, ?) ON CONFLICT (source, delivery_id) DO NOTHING`)
    .run(source, delivery.deliveryId, now, delivery.signature);
  db.statement(`DELETE FROM ${TABLE} WHERE received_at < ?`).run(now - retention.days * 86_400_000);
  db.statement(`DELETE FROM ${TABLE} WHERE seq <= (SELECT max(seq) FROM ${TABLE}) - ?`).run(retention.maxRows);
}

function hasSignatureColumn(db: AgentDatabase): boolean {
  return db.statement(`SELECT 1 AS x FROM pragma_table_info('${TABLE}') WHERE name = 'signature'`).get() !== undefined;
}

/** Delivery ids remembered, newest first (for inspection and tests). */
export function listDeliveries(db: AgentDatabase, limit = 100): Array<{ source: string; deliveryId: string; receivedAt: number }> {
  if (!db.hasTable(TABLE)) return [];
  const rows = db.statement(`SELECT source, delivery_id, received_at FROM ${TABLE} ORDER BY seq DESC LIMIT ?`).all(limit) as Array<{
    source: string;
    delivery_id: string;
    received_at: number;
  }>;
  return rows.map((row) => ({ source: row.source, deliveryId: row.delivery_id, receivedAt: row.received_at }));
}
