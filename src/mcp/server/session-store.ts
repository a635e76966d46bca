import type { SqlTag } from "../../storage/sql.ts";
import type { McpTransportKind } from "./request-context.ts";

/** What a session agent keeps about its MCP session, so a fresh instance can take it over. */
export interface StoredSession {
  readonly id: string;
  readonly transport: McpTransportKind;
  /** The client's `initialize` request, replayed into a new transport after a wake (null: none yet). */
  readonly initialize: unknown;
  readonly props: Record<string, unknown> | undefined;
  /** Who opened the session (the token's subject), when the endpoint is protected. */
  readonly owner: string | undefined;
  readonly createdAt: number;
  /** Last request (ms, coarse: written at most once per tenth of the time-to-live). */
  readonly lastSeen: number;
  /** Idle time after which the session and its storage are removed (ms; 0: never, RPC sessions). */
  readonly ttlMs: number;
}

interface SessionRow {
  id: string;
  transport: McpTransportKind;
  initialize: string;
  props: string | null;
  owner: string | null;
  created_at: number;
  last_seen: number;
  ttl_ms: number;
}

/** The session row of a session agent (one row: one agent per session). */
export class SessionStore {
  readonly #sql: SqlTag;
  /** The row, read once per life of the agent (null: read, none stored). */
  #cached: StoredSession | null | undefined;

  readonly #now: () => number;

  constructor(sql: SqlTag, now: () => number) {
    this.#sql = sql;
    this.#now = now;
    sql`CREATE TABLE IF NOT EXISTS hearth_mcp_session (
      id TEXT PRIMARY KEY, transport TEXT NOT NULL, initialize TEXT NOT NULL,
      props TEXT, owner TEXT, created_at INTEGER NOT NULL, last_seen INTEGER NOT NULL, ttl_ms INTEGER NOT NULL)`;
  }

  read(): StoredSession | undefined {
    if (this.#cached !== undefined) return this.#cached ?? undefined;
    this.#cached = this.#load() ?? null;
    return this.#cached ?? undefined;
  }

  #load(): StoredSession | undefined {
    const row = this.#sql<SessionRow>`
      SELECT id, transport, initialize, props, owner, created_at, last_seen, ttl_ms FROM hearth_mcp_session LIMIT 1`[0];
    if (!row) return undefined;
    return {
      id: row.id,
      transport: row.transport,
      initialize: JSON.parse(row.initialize),
      props: row.props === null ? undefined : (JSON.parse(row.props) as Record<string, unknown>),
      owner: row.owner ?? undefined,
      createdAt: row.created_at,
      lastSeen: row.last_seen,
      ttlMs: row.ttl_ms,
    };
  }

  create(session: Omit<StoredSession, "createdAt" | "lastSeen">): void {
    const now = this.#now();
    const props = session.props === undefined ? null : JSON.stringify(session.props);
    this.#sql`INSERT OR REPLACE INTO hearth_mcp_session (id, transport, initialize, props, owner, created_at, last_seen, ttl_ms)
      VALUES (${session.id}, ${session.transport}, ${JSON.stringify(session.initialize)}, ${props}, ${session.owner ?? null},
        ${now}, ${now}, ${session.ttlMs})`;
    this.#cached = undefined;
  }

  /** Records activity; cheap to call on every request (writes once per tenth of the time-to-live). */
  touch(now: number): void {
    const session = this.read();
    if (session === undefined || now - session.lastSeen < session.ttlMs / 10) return;
    this.#sql`UPDATE hearth_mcp_session SET last_seen = ${now}`;
    this.#cached = undefined;
  }

  saveProps(props: Record<string, unknown> | undefined): void {
    this.#sql`UPDATE hearth_mcp_session SET props = ${props === undefined ? null : JSON.stringify(props)}`;
    this.#cached = undefined;
  }

  /** The client's latest `initialize` (RPC sessions: a client that reconnects handshakes again). */
  saveInitialize(initialize: unknown): void {
    this.#sql`UPDATE hearth_mcp_session SET initialize = ${JSON.stringify(initialize)}`;
    this.#cached = undefined;
  }
}
