/** An SQL statement failed. The message names the query so a failure can be found without a debugger. */
export class SqlError extends Error {
  readonly query: string;
  readonly code: string | undefined;
  constructor(cause: unknown, query: string) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`${reason}\n  in query: ${query.length > 500 ? `${query.slice(0, 500)}…` : query}`, { cause });
    this.name = "SqlError";
    this.query = query;
    this.code = (cause as { code?: string } | null)?.code;
  }
}

/** Storage was used after the agent was destroyed or its database closed. */
export class StorageClosedError extends Error {
  constructor(what: string) {
    super(`${what}: this agent's storage is closed (the agent was destroyed or the host shut down)`);
    this.name = "StorageClosedError";
  }
}
