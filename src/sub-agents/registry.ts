import type { AgentDatabase } from "../storage/database.ts";

/** One child, as `listSubAgents()` reports it. */
export interface SubAgentInfo {
  className: string;
  name: string;
  /** When it was first created, epoch milliseconds. */
  createdAt: number;
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS _hearth_sub_agents (
  class TEXT NOT NULL,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (class, name)
)`;

/** The parent's record of its children, in its own database (creation order is the rowid's). */
export class SubAgentRegistry {
  readonly #db: AgentDatabase;

  constructor(db: AgentDatabase) {
    this.#db = db;
  }

  /** Adds the child; false when it was there already. */
  add(className: string, name: string): boolean {
    this.#ensure();
    const result = this.#db.statement("INSERT OR IGNORE INTO _hearth_sub_agents (class, name, created_at) VALUES (?, ?, ?)").run(className, name, Date.now());
    return Number(result.changes) > 0;
  }

  /** Removes the child; false when it was not listed. */
  remove(className: string, name: string): boolean {
    if (!this.#db.hasTable("_hearth_sub_agents")) return false;
    return Number(this.#db.statement("DELETE FROM _hearth_sub_agents WHERE class = ? AND name = ?").run(className, name).changes) > 0;
  }

  /**
   * Commits now, with what the running event wrote so far (as a fiber's checkpoint does): the list
   * must follow the children's files, which no rollback of the event brings back or takes away.
   * Not inside a transactionSync block (a commit would end its transaction): it goes with the block.
   */
  commitNow(): void {
    if (!this.#db.inTransactionSync) this.#db.flush();
  }

  /** Forgets every child (the parent's storage was wiped). */
  clear(): void {
    if (this.#db.hasTable("_hearth_sub_agents")) this.#db.statement("DELETE FROM _hearth_sub_agents").run();
  }

  has(className: string, name: string): boolean {
    if (!this.#db.hasTable("_hearth_sub_agents")) return false;
    return this.#db.statement("SELECT 1 FROM _hearth_sub_agents WHERE class = ? AND name = ?").get(className, name) !== undefined;
  }

  list(className?: string): SubAgentInfo[] {
    if (!this.#db.hasTable("_hearth_sub_agents")) return [];
    const rows =
      className === undefined
        ? this.#db.statement("SELECT class, name, created_at FROM _hearth_sub_agents ORDER BY rowid").all()
        : this.#db.statement("SELECT class, name, created_at FROM _hearth_sub_agents WHERE class = ? ORDER BY rowid").all(className);
    return rows.map((row) => ({ className: row.class as string, name: row.name as string, createdAt: Number(row.created_at) }));
  }

  #ensure(): void {
    if (!this.#db.hasTable("_hearth_sub_agents")) this.#db.execScript(SCHEMA);
  }
}
