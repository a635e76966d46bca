import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Durability } from "../../limits.ts";
import { openHostDatabase } from "../../storage/host-database.ts";
import type { InstanceState } from "./state-machine.ts";
import type { AlertRule, ContactPoint, HistoryEvent, HistoryItem, Silence } from "./types.ts";

/** Where a rule or contact point came from: the API (kept until deleted) or the config (replaced at each load). */
export type Source = "api" | "config";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS alert_rules (id TEXT PRIMARY KEY, source TEXT NOT NULL, definition TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS alert_contact_points (name TEXT PRIMARY KEY, source TEXT NOT NULL, definition TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS alert_silences (id TEXT PRIMARY KEY, matchers TEXT NOT NULL, until INTEGER NOT NULL, comment TEXT NOT NULL,
  created_by TEXT, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS alert_state (rule_id TEXT NOT NULL, key TEXT NOT NULL, labels TEXT NOT NULL, state TEXT NOT NULL,
  since INTEGER NOT NULL, active_at INTEGER NOT NULL, last_true_at INTEGER NOT NULL, last_sent_at INTEGER, value REAL,
  PRIMARY KEY (rule_id, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alert_history (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, rule_id TEXT NOT NULL,
  rule_name TEXT NOT NULL, event TEXT NOT NULL, labels TEXT NOT NULL, value REAL, detail TEXT);
CREATE INDEX IF NOT EXISTS alert_history_at ON alert_history (at);
CREATE INDEX IF NOT EXISTS alert_history_rule ON alert_history (rule_id, id);
`;

type Row = Record<string, string | number | null>;

function historyItem(row: Row): HistoryItem {
  return {
    id: String(row.id),
    at: row.at as number,
    rule: row.rule_id as string,
    ruleName: row.rule_name as string,
    state: row.event as HistoryEvent,
    labels: JSON.parse(row.labels as string) as Record<string, string>,
    value: row.value as number | null,
    detail: row.detail as string | null,
  };
}

/** Rules, contact points, silences, alert states and history in one SQLite file. */
export class AlertStore {
  readonly #db: DatabaseSync;
  readonly #sql: Record<string, StatementSync> = {};

  constructor(path: string, durability: Durability) {
    this.#db = openHostDatabase(path, durability, "alerts database", SCHEMA);
  }

  #q(sql: string): StatementSync {
    return (this.#sql[sql] ??= this.#db.prepare(sql));
  }

  listRules(): Array<{ rule: AlertRule; source: Source }> {
    const rows = this.#q("SELECT definition, source FROM alert_rules ORDER BY created_at, id").all() as Row[];
    return rows.map((row) => ({ rule: JSON.parse(row.definition as string) as AlertRule, source: row.source as Source }));
  }

  putRule(rule: AlertRule, source: Source, now: number): void {
    this.#q(
      "INSERT INTO alert_rules (id, source, definition, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET source = excluded.source, definition = excluded.definition",
    ).run(rule.id, source, JSON.stringify(rule), now);
  }

  /** Removes a rule and its alert states; true when it existed. */
  deleteRule(id: string): boolean {
    this.#q("DELETE FROM alert_state WHERE rule_id = ?").run(id);
    return this.#q("DELETE FROM alert_rules WHERE id = ?").run(id).changes > 0;
  }

  listContactPoints(): Array<{ contactPoint: ContactPoint; source: Source }> {
    const rows = this.#q("SELECT definition, source FROM alert_contact_points ORDER BY created_at, name").all() as Row[];
    return rows.map((row) => ({ contactPoint: JSON.parse(row.definition as string) as ContactPoint, source: row.source as Source }));
  }

  putContactPoint(contactPoint: ContactPoint, source: Source, now: number): void {
    this.#q(
      "INSERT INTO alert_contact_points (name, source, definition, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET source = excluded.source, definition = excluded.definition",
    ).run(contactPoint.name, source, JSON.stringify(contactPoint), now);
  }

  deleteContactPoint(name: string): boolean {
    return this.#q("DELETE FROM alert_contact_points WHERE name = ?").run(name).changes > 0;
  }

  listSilences(): Silence[] {
    const rows = this.#q("SELECT * FROM alert_silences ORDER BY created_at, id").all() as Row[];
    return rows.map((row) => ({
      id: row.id as string,
      matchers: JSON.parse(row.matchers as string) as Silence["matchers"],
      until: row.until as number,
      comment: row.comment as string,
      createdBy: row.created_by as string | null,
      createdAt: row.created_at as number,
    }));
  }

  putSilence(silence: Silence): void {
    this.#q("INSERT INTO alert_silences (id, matchers, until, comment, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)").run(
      silence.id,
      JSON.stringify(silence.matchers),
      silence.until,
      silence.comment,
      silence.createdBy,
      silence.createdAt,
    );
  }

  deleteSilence(id: string): boolean {
    return this.#q("DELETE FROM alert_silences WHERE id = ?").run(id).changes > 0;
  }

  /** Forgets silences that ended before `before`. */
  purgeSilences(before: number): void {
    this.#q("DELETE FROM alert_silences WHERE until < ?").run(before);
  }

  listInstances(): InstanceState[] {
    const rows = this.#q("SELECT * FROM alert_state").all() as Row[];
    return rows.map((row) => ({
      ruleId: row.rule_id as string,
      key: row.key as string,
      labels: JSON.parse(row.labels as string) as Record<string, string>,
      state: row.state as InstanceState["state"],
      since: row.since as number,
      activeAt: row.active_at as number,
      lastTrueAt: row.last_true_at as number,
      lastSentAt: row.last_sent_at as number | null,
      value: row.value as number | null,
    }));
  }

  putInstance(s: InstanceState): void {
    this.#q(
      `INSERT INTO alert_state (rule_id, key, labels, state, since, active_at, last_true_at, last_sent_at, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (rule_id, key) DO UPDATE SET labels = excluded.labels, state = excluded.state, since = excluded.since, active_at = excluded.active_at,
       last_true_at = excluded.last_true_at, last_sent_at = excluded.last_sent_at, value = excluded.value`,
    ).run(s.ruleId, s.key, JSON.stringify(s.labels), s.state, s.since, s.activeAt, s.lastTrueAt, s.lastSentAt, s.value);
  }

  deleteInstance(ruleId: string, key: string): void {
    this.#q("DELETE FROM alert_state WHERE rule_id = ? AND key = ?").run(ruleId, key);
  }

  appendHistory(item: Omit<HistoryItem, "id">): void {
    this.#q("INSERT INTO alert_history (at, rule_id, rule_name, event, labels, value, detail) VALUES (?, ?, ?, ?, ?, ?, ?)").run(
      item.at,
      item.rule,
      item.ruleName,
      item.state,
      JSON.stringify(item.labels),
      item.value,
      item.detail,
    );
  }

  /** Newest first; `cursor` is the id of the last item of the previous page. */
  pageHistory(limit: number, cursor: number | null, ruleId: string | null): { items: HistoryItem[]; next: string | null } {
    const rows = this.#q(
      `SELECT * FROM alert_history WHERE (?1 IS NULL OR id < ?1) AND (?2 IS NULL OR rule_id = ?2) ORDER BY id DESC LIMIT ?3`,
    ).all(cursor, ruleId, limit + 1) as Row[];
    const items = rows.slice(0, limit).map(historyItem);
    return { items, next: rows.length > limit ? items.at(-1)!.id : null };
  }

  /** Keeps at most `maxRows` rows, none older than `oldest`. */
  trimHistory(maxRows: number, oldest: number): void {
    this.#q("DELETE FROM alert_history WHERE at < ?").run(oldest);
    this.#q("DELETE FROM alert_history WHERE id <= (SELECT id FROM alert_history ORDER BY id DESC LIMIT 1 OFFSET ?)").run(maxRows);
  }

  historyCount(): number {
    return (this.#q("SELECT count(*) AS n FROM alert_history").get() as Row).n as number;
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}
