/**
 * Telling a lost connection from a refused statement: the first leaves a statement's outcome unknown
 * (it may have committed), the second is a definite answer from Postgres.
 */

/** SQLSTATEs that mean the session went away rather than the statement being wrong. */
const CONNECTION_STATES = new Set([
  "57P01", // admin_shutdown: pg_terminate_backend, or a fast shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now: the server is starting or in recovery
  "53300", // too_many_connections
]);

/**
 * True when an error from `pg` means the connection failed (refused, reset, closed, timed out, or the
 * backend was terminated), false when Postgres answered with an error about the statement itself.
 *
 * @example
 * try { await client.query(sql) } catch (e) { if (isConnectionError(e)) reconnect(); else throw e; }
 */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    if (CONNECTION_STATES.has(code) || code.startsWith("08")) return true;
    // Node's socket errors (ECONNREFUSED, ECONNRESET, EPIPE, ETIMEDOUT, …).
    return code.startsWith("E");
  }
  // pg's own errors carry no code: "Connection terminated unexpectedly", "Query read timeout",
  // "timeout exceeded when trying to connect", "Client has encountered a connection error …".
  return /connection|terminated|timeout|not queryable|closed/i.test(error.message);
}

/**
 * Postgres could not be reached for as long as the caller allowed. `outcome` says what happened to
 * the write: `not-written` when no attempt reached the server, `unknown` when one may have committed
 * (the caller must treat the actor's local state as unconfirmed and rebuild it from the log).
 */
export class PostgresUnreachableError extends Error {
  readonly outcome: "not-written" | "unknown";
  readonly waitedMs: number;
  constructor(what: string, waitedMs: number, outcome: "not-written" | "unknown", cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    const fate = outcome === "unknown" ? "it may or may not have been written" : "it was not written";
    super(`${what}: Postgres was unreachable for ${Math.round(waitedMs)} ms (last error: ${detail}); ${fate}`, { cause });
    this.name = "PostgresUnreachableError";
    this.outcome = outcome;
    this.waitedMs = waitedMs;
  }
}
