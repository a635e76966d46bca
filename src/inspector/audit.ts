/**
 * The audit log: one row per change made through the inspector (who, what, on what, whether it
 * worked, and hashes of the data before and after), written before the change is answered. SQLite at
 * `<dataDir>/inspector/audit.sqlite`.
 */
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { cutDetail, cutString, jsonOf } from "./audit-detail.ts";
import type { Role } from "./security.ts";

/** One audited change. */
export interface AuditEntry {
  at: number;
  role: Role;
  /** What was done, e.g. `state.set`, `sql.write`, `schedule.cancel`. */
  action: string;
  /** What it was done to, e.g. `Counter/a`, `Onboarding/run-1`. */
  target: string;
  /** Whether the change was made (null for a row written before outcomes had their own column, whose detail was cut). */
  ok?: boolean | null;
  /** Why it failed. */
  error?: string;
  /** The change's arguments; each field longer than the limit is cut (audit-detail.ts). Listed with `ok` and `error` in it too. */
  detail: Record<string, unknown>;
  beforeHash?: string;
  afterHash?: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL,
  target TEXT NOT NULL, detail TEXT NOT NULL, before_hash TEXT, after_hash TEXT, ok INTEGER, error TEXT
);`;

/** SHA-256 (hex, first 32 characters) of a value's JSON; undefined for undefined. */
export function hashOf(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const json = JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) ?? "undefined";
  return createHash("sha256").update(json).digest("hex").slice(0, 32);
}

/**
 * The audit table of one inspector.
 * @example
 * const audit = new AuditLog(join(dataDir, "inspector", "audit.sqlite"));
 * audit.append({ at: Date.now(), role: "admin", action: "state.set", target: "Counter/a", detail: {} });
 */
export class AuditLog {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #page: StatementSync;

  constructor(path: string, durability: "strict" | "relaxed" = "relaxed") {
    mkdirSync(dirname(path), { recursive: true });
    this.#db = new DatabaseSync(path);
    this.#db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${durability === "strict" ? "FULL" : "NORMAL"}; PRAGMA busy_timeout = 5000;`);
    this.#db.exec(SCHEMA);
    addOutcomeColumns(this.#db);
    this.#insert = this.#db.prepare("INSERT INTO audit (at, role, action, target, ok, error, detail, before_hash, after_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    this.#page = this.#db.prepare("SELECT seq, at, role, action, target, ok, error, detail, before_hash, after_hash FROM audit WHERE seq < ? ORDER BY seq DESC LIMIT ?");
  }

  /**
   * Appends one entry (committed when this returns). `ok` and `error` may come in the entry or, as
   * they did before they had their own columns, in its detail: either way they are stored apart.
   */
  append(entry: AuditEntry): void {
    const { ok: okInDetail, error: errorInDetail, ...rest } = entry.detail;
    const ok = entry.ok ?? (typeof okInDetail === "boolean" ? okInDetail : null);
    const error = entry.error ?? (typeof errorInDetail === "string" ? errorInDetail : undefined);
    this.#insert.run(
      entry.at,
      entry.role,
      entry.action,
      entry.target,
      ok === null ? null : ok ? 1 : 0,
      error === undefined ? null : cutString(error),
      jsonOf(cutDetail(rest)) ?? "{}",
      entry.beforeHash ?? null,
      entry.afterHash ?? null,
    );
  }

  /** Entries newest first; `before` is the `next` of the previous page. */
  page(before: number | undefined, limit: number): { items: AuditEntry[]; next: number | null } {
    const rows = this.#page.all(before ?? Number.MAX_SAFE_INTEGER, limit + 1) as Array<Record<string, unknown>>;
    const items = rows.slice(0, limit).map((row): AuditEntry => {
      const stored = JSON.parse(row.detail as string) as Record<string, unknown>;
      // A row from before the outcome columns keeps its outcome in the detail (unless the detail was cut).
      const ok = row.ok === null ? (typeof stored.ok === "boolean" ? stored.ok : null) : row.ok === 1;
      const error = row.error === null ? (typeof stored.error === "string" ? stored.error : undefined) : (row.error as string);
      return {
        at: Number(row.at),
        role: row.role as Role,
        action: row.action as string,
        target: row.target as string,
        ok,
        ...(error === undefined ? {} : { error }),
        detail: { ...stored, ...(ok === null ? {} : { ok }), ...(error === undefined ? {} : { error }) },
        ...(row.before_hash === null ? {} : { beforeHash: row.before_hash as string }),
        ...(row.after_hash === null ? {} : { afterHash: row.after_hash as string }),
      };
    });
    const last = rows[limit - 1];
    return { items, next: rows.length > limit && last ? Number(last.seq) : null };
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}

/** An audit file written before outcomes had their own columns gets them (its rows keep theirs in the detail). */
function addOutcomeColumns(db: DatabaseSync): void {
  const columns = new Set((db.prepare("SELECT name FROM pragma_table_info('audit')").all() as Array<{ name: string }>).map((column) => column.name));
  if (!columns.has("ok")) db.exec("ALTER TABLE audit ADD COLUMN ok INTEGER");
  if (!columns.has("error")) db.exec("ALTER TABLE audit ADD COLUMN error TEXT");
}
