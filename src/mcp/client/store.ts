/**
 * The MCP client's SQL, in the agent's own database (so `destroy()` and a copy of the file carry it):
 * `hearth_mcp_servers` (one row per mounted server, with its last discovered catalog) and
 * `hearth_mcp_oauth` (the OAuth client registration, tokens, PKCE verifier, state and discovery of
 * each server). Created on first use; an agent that never mounts a server has neither.
 */
import type { AgentDatabase } from "../../storage/database.ts";
import type { McpClientLimits } from "./limits.ts";
import type { McpTransportType, Prompt, Resource, ServerCapabilities, Tool } from "./types.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS hearth_mcp_servers (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, url TEXT NOT NULL, transport TEXT NOT NULL, headers TEXT,
  callback_url TEXT, limits TEXT, auth_url TEXT, catalog TEXT, created_at INTEGER NOT NULL
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
  instructions: string | null;
  capabilities: ServerCapabilities | null;
  /** The transport that worked (for `auto`, so a restore tries it first). */
  transport: Exclude<McpTransportType, "auto">;
}

/** A mounted server as stored. */
export interface ServerRecord {
  id: string;
  name: string;
  url: string;
  transport: McpTransportType;
  headers: Record<string, string> | undefined;
  callbackUrl: string | undefined;
  limits: Partial<McpClientLimits> | undefined;
  authUrl: string | undefined;
  catalog: Catalog | undefined;
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
}

export class McpStore {
  readonly #db: AgentDatabase;
  #exists: boolean | undefined;

  constructor(db: AgentDatabase) {
    this.#db = db;
  }

  /** True when the tables exist (reads create nothing). */
  get exists(): boolean {
    this.#exists ??=
      this.#db.statement("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'hearth_mcp_servers'").get() !== undefined;
    return this.#exists;
  }

  get isOpen(): boolean {
    return this.#db.isOpen;
  }

  /** After a rollback the tables may be gone again. */
  invalidate(): void {
    this.#exists = undefined;
  }

  servers(): ServerRecord[] {
    if (!this.exists) return [];
    const rows = this.#db.statement("SELECT * FROM hearth_mcp_servers ORDER BY created_at, id").all() as unknown as ServerRow[];
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      url: row.url,
      transport: row.transport as McpTransportType,
      headers: parse(row.headers),
      callbackUrl: row.callback_url ?? undefined,
      limits: parse(row.limits),
      authUrl: row.auth_url ?? undefined,
      catalog: parse(row.catalog),
    }));
  }

  insert(record: ServerRecord, now: number): void {
    this.#ensure();
    this.#db
      .statement(
        "INSERT INTO hearth_mcp_servers (id, name, url, transport, headers, callback_url, limits, auth_url, catalog, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
      );
  }

  remove(id: string): void {
    if (!this.exists) return;
    this.#db.statement("DELETE FROM hearth_mcp_servers WHERE id = ?").run(id);
    this.#db.statement("DELETE FROM hearth_mcp_oauth WHERE server_id = ?").run(id);
  }

  setCallbackUrl(id: string, url: string): void {
    this.#update(id, "callback_url", url);
  }

  setAuthUrl(id: string, url: string | undefined): void {
    this.#update(id, "auth_url", url ?? null);
  }

  setCatalog(id: string, catalog: Catalog): void {
    this.#update(id, "catalog", JSON.stringify(catalog));
  }

  /** One OAuth value of a server, parsed when it is JSON. */
  oauth<T>(serverId: string, field: OAuthField): T | undefined {
    if (!this.exists) return undefined;
    const row = this.#db.statement(`SELECT ${field} AS value FROM hearth_mcp_oauth WHERE server_id = ?`).get(serverId);
    const value = row?.value;
    if (typeof value !== "string") return undefined;
    return (field === "code_verifier" || field === "state" ? value : JSON.parse(value)) as T;
  }

  setOAuth(serverId: string, field: OAuthField, value: unknown): void {
    this.#ensure();
    const stored = value === undefined || value === null ? null : typeof value === "string" ? value : JSON.stringify(value);
    this.#db.statement("INSERT OR IGNORE INTO hearth_mcp_oauth (server_id) VALUES (?)").run(serverId);
    this.#db.statement(`UPDATE hearth_mcp_oauth SET ${field} = ? WHERE server_id = ?`).run(stored, serverId);
  }

  /** The server whose pending authorization carries this `state`, if any. */
  serverForState(state: string): string | undefined {
    if (!this.exists) return undefined;
    const row = this.#db.statement("SELECT server_id FROM hearth_mcp_oauth WHERE state = ?").get(state);
    return typeof row?.server_id === "string" ? row.server_id : undefined;
  }

  #update(id: string, column: "callback_url" | "auth_url" | "catalog", value: string | null): void {
    if (!this.exists) return;
    this.#db.statement(`UPDATE hearth_mcp_servers SET ${column} = ? WHERE id = ?`).run(value, id);
  }

  #ensure(): void {
    if (this.exists) return;
    this.#db.execScript(SCHEMA);
    this.#exists = true;
  }
}

function json(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

function parse<T>(text: string | null): T | undefined {
  return text === null ? undefined : (JSON.parse(text) as T);
}
