/**
 * The MCP client's SQL, in the agent's own database (so `destroy()` and a copy of the file carry it):
 * `hearth_mcp_servers` (one row per mounted server, with its last discovered catalog) and
 * `hearth_mcp_oauth` (the OAuth client registration, tokens, PKCE verifier, state and discovery of
 * each server). Created on first use; an agent that never mounts a server has neither. OAuth values
 * are written only while their server's row exists.
 *
 * Writes run as events of their own (the agent's `blockConcurrencyWhile`), not inside the event
 * that caused them: a request that fails after a token refresh must not roll the new tokens back,
 * which the authorization server has already rotated. Reads are synchronous.
 */
import type { AgentDatabase } from "../../storage/database.ts";
import type { RetryOptions } from "../../time/backoff.ts";
import type { McpClientLimits } from "./limits.ts";
import type { ClientCapabilities, McpTransportType, Prompt, Resource, ResourceTemplate, ServerCapabilities, Tool } from "./types.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS hearth_mcp_servers (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, url TEXT NOT NULL, transport TEXT NOT NULL, headers TEXT,
  callback_url TEXT, limits TEXT, auth_url TEXT, catalog TEXT, created_at INTEGER NOT NULL, options TEXT
);
CREATE TABLE IF NOT EXISTS hearth_mcp_oauth (
  server_id TEXT PRIMARY KEY, client_information TEXT, tokens TEXT, code_verifier TEXT, state TEXT,
  discovery_state TEXT
);`;

/** What discovery found on a server, kept so tools are known at once after a wake. */
export interface Catalog {
  tools: Tool[];
  prompts: Prompt[];
  resources: Resource[];
  /** Absent in catalogs stored before templates were discovered. */
  resourceTemplates?: ResourceTemplate[];
  instructions: string | null;
  capabilities: ServerCapabilities | null;
  /** The transport that worked (for `auto`, so a restore tries it first). */
  transport: Exclude<StoredTransport, "auto">;
}

/** `rpc`: an McpAgent of this host, reached through its binding in `env`. */
export type StoredTransport = McpTransportType | "rpc";

/** Settings kept in the `options` column (added after the first release, so absent in older rows). */
export interface ServerOptions {
  retry?: RetryOptions;
  /** The OAuth callback's own path (`addMcpServer`'s `callbackPath`). */
  callbackPath?: string;
  /** `client.capabilities` given when mounting: announced instead of the configured handlers' modes. */
  capabilities?: ClientCapabilities;
  /** For `rpc`: the `env` key of the binding and the props passed to the McpAgent. */
  rpc?: { binding: string; props?: Record<string, unknown> };
}

/** A mounted server as stored. */
export interface ServerRecord {
  id: string;
  name: string;
  url: string;
  transport: StoredTransport;
  headers: Record<string, string> | undefined;
  callbackUrl: string | undefined;
  limits: Partial<McpClientLimits> | undefined;
  authUrl: string | undefined;
  catalog: Catalog | undefined;
  options?: ServerOptions | undefined;
}

/** Columns of `hearth_mcp_oauth`, each a JSON document or a string. */
export type OAuthField = "client_information" | "tokens" | "code_verifier" | "state" | "discovery_state";

interface ServerRow {
  id: string;
  name: string;
  url: string;
  transport: string;
  headers: string | null;
  callback_url: string | null;
  limits: string | null;
  auth_url: string | null;
  catalog: string | null;
  options?: string | null;
}

/** Runs `fn` as an event of its own and resolves once its writes are committed. */
export type Writer = <T>(fn: () => T) => Promise<T>;

export class McpStore {
  readonly #db: AgentDatabase;
  readonly #write: Writer;
  #exists: boolean | undefined;
  #columnsChecked = false;

  constructor(db: AgentDatabase, write: Writer) {
    this.#db = db;
    this.#write = write;
  }

  /** True when the tables exist in `db` (one query; creates nothing). */
  static existsIn(db: AgentDatabase): boolean {
    return db.hasTable("hearth_mcp_servers");
  }

  /** True when the tables exist (reads create nothing). */
  get exists(): boolean {
    this.#exists ??= McpStore.existsIn(this.#db);
    return this.#exists;
  }

  /** The caller has just seen the tables (the start-up check): no second lookup. */
  tablesSeen(): void {
    this.#exists = true;
  }

  get isOpen(): boolean {
    return this.#db.isOpen;
  }

  /** After a rollback the tables may be gone again. */
  invalidate(): void {
    this.#exists = undefined;
    this.#columnsChecked = false;
  }

  servers(): ServerRecord[] {
    if (!this.exists) return [];
    const rows = this.#db.statement("SELECT * FROM hearth_mcp_servers ORDER BY created_at, id").all() as unknown as ServerRow[];
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      url: row.url,
      transport: row.transport as StoredTransport,
      headers: parse(row.headers),
      callbackUrl: row.callback_url ?? undefined,
      limits: parse(row.limits),
      authUrl: row.auth_url ?? undefined,
      catalog: parse(row.catalog),
      options: parse(row.options ?? null),
    }));
  }

  insert(record: ServerRecord, now: number): Promise<void> {
    return this.#write(() => {
      this.#ensure();
      this.#db
      .statement(
        "INSERT INTO hearth_mcp_servers (id, name, url, transport, headers, callback_url, limits, auth_url, catalog, created_at, options) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run(
        record.id,
        record.name,
        record.url,
        record.transport,
        json(record.headers),
        record.callbackUrl ?? null,
        json(record.limits),
        record.authUrl ?? null,
        json(record.catalog),
        now,
        json(record.options),
      );
    });
  }

  remove(id: string): Promise<void> {
    return this.#write(() => {
      if (!this.exists) return;
      this.#db.statement("DELETE FROM hearth_mcp_servers WHERE id = ?").run(id);
      this.#db.statement("DELETE FROM hearth_mcp_oauth WHERE server_id = ?").run(id);
    });
  }

  /** Gives a server a new id, with its OAuth values (the caller checked that `to` is free). */
  rename(from: string, to: string): Promise<void> {
    return this.#write(() => {
      if (!this.exists) return;
      this.#db.statement("UPDATE hearth_mcp_servers SET id = ? WHERE id = ?").run(to, from);
      this.#db.statement("UPDATE hearth_mcp_oauth SET server_id = ? WHERE server_id = ?").run(to, from);
    });
  }

  setCallbackUrl(id: string, url: string): Promise<void> {
    return this.#update(id, "callback_url", url);
  }

  setAuthUrl(id: string, url: string | undefined): Promise<void> {
    return this.#update(id, "auth_url", url ?? null);
  }

  setCatalog(id: string, catalog: Catalog): Promise<void> {
    return this.#update(id, "catalog", JSON.stringify(catalog));
  }

  /** An authorization handed to the user: its URL, state and PKCE verifier, stored together. */
  setPendingAuthorization(id: string, authorization: { url: string; state: string | null; verifier: string }): Promise<void> {
    return this.#write(() => {
      this.#setOAuth(id, "code_verifier", authorization.verifier);
      this.#setOAuth(id, "state", authorization.state);
      if (this.exists) this.#db.statement("UPDATE hearth_mcp_servers SET auth_url = ? WHERE id = ?").run(authorization.url, id);
    });
  }

  /** One OAuth value of a server, parsed when it is JSON. */
  oauth<T>(serverId: string, field: OAuthField): T | undefined {
    if (!this.#db.isOpen || !this.exists) return undefined;
    const row = this.#db.statement(`SELECT ${field} AS value FROM hearth_mcp_oauth WHERE server_id = ?`).get(serverId);
    const value = row?.value;
    if (typeof value !== "string") return undefined;
    return (field === "code_verifier" || field === "state" ? value : JSON.parse(value)) as T;
  }

  setOAuth(serverId: string, field: OAuthField, value: unknown): Promise<void> {
    return this.#write(() => this.#setOAuth(serverId, field, value));
  }

  /** Writes only while the server is mounted: a flow that outlived `remove` must not bring its row back. */
  #setOAuth(serverId: string, field: OAuthField, value: unknown): void {
    if (!this.exists) return; // no server was ever mounted here
    const stored = value === undefined || value === null ? null : typeof value === "string" ? value : JSON.stringify(value);
    this.#db
      .statement("INSERT OR IGNORE INTO hearth_mcp_oauth (server_id) SELECT ? WHERE EXISTS (SELECT 1 FROM hearth_mcp_servers WHERE id = ?)")
      .run(serverId, serverId);
    this.#db
      .statement(`UPDATE hearth_mcp_oauth SET ${field} = ? WHERE server_id = ? AND EXISTS (SELECT 1 FROM hearth_mcp_servers WHERE id = ?)`)
      .run(stored, serverId, serverId);
  }

  /** The server whose pending authorization carries this `state`, if any. */
  serverForState(state: string): string | undefined {
    if (!this.exists) return undefined;
    const row = this.#db.statement("SELECT server_id FROM hearth_mcp_oauth WHERE state = ?").get(state);
    return typeof row?.server_id === "string" ? row.server_id : undefined;
  }

  #update(id: string, column: "callback_url" | "auth_url" | "catalog", value: string | null): Promise<void> {
    return this.#write(() => {
      if (this.exists) this.#db.statement(`UPDATE hearth_mcp_servers SET ${column} = ? WHERE id = ?`).run(value, id);
    });
  }

  #ensure(): void {
    if (!this.exists) {
      this.#db.execScript(SCHEMA);
      this.#exists = true;
      this.#columnsChecked = true;
    }
    if (this.#columnsChecked) return;
    // Tables made before the `options` column existed get it on their next write.
    const columns = this.#db.statement("SELECT name FROM pragma_table_info('hearth_mcp_servers')").all() as unknown as Array<{ name: string }>;
    if (!columns.some((c) => c.name === "options")) this.#db.execScript("ALTER TABLE hearth_mcp_servers ADD COLUMN options TEXT");
    this.#columnsChecked = true;
  }
}

function json(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

function parse<T>(text: string | null): T | undefined {
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined; // a damaged row: the server is rediscovered, or fails with a clear error
  }
}
