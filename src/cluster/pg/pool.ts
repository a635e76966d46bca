import pg from "pg";

export interface ClusterPoolOptions {
  /** `postgres://user@host:port/database` */
  connectionString: string;
  /** Connections for appends, claims and reads; default 8. The heartbeat has its own connection. */
  max?: number;
  /** Shown in `pg_stat_activity.application_name` (e.g. `hearth-a`). */
  applicationName?: string;
  /** How long a checkout waits for a new connection; default 5,000 ms. */
  connectionTimeoutMillis?: number;
  /** How long a statement waits for Postgres's answer; default {@link QUERY_TIMEOUT_MS}. */
  queryTimeoutMillis?: number;
}

/**
 * How long a statement of the cluster's pools waits for Postgres's answer (a COPY: for its next bytes)
 * unless it sets its own `query_timeout`: then its connection counts as lost and is closed, so a
 * connection that went silent (no reset reaches the node) fails its statement instead of hanging it.
 * The same bound as one attempt of the committer.
 */
export const QUERY_TIMEOUT_MS = 5_000;

/** Each pool's bound, for statements run outside `client.query`'s own timer (COPY). */
const queryTimeouts = new WeakMap<pg.Pool, number>();

/** The bound on a statement's wait of `pool` (see {@link QUERY_TIMEOUT_MS}). */
export function queryTimeoutOf(pool: pg.Pool): number {
  return queryTimeouts.get(pool) ?? QUERY_TIMEOUT_MS;
}

/** The error of a statement Postgres did not answer in time (pg's own message first: it counts as a lost connection). */
export class QueryTimeoutError extends Error {
  constructor(timeoutMs: number, what = "answer") {
    super(`Query read timeout: Postgres did not ${what} within ${timeoutMs} ms; the connection was closed`);
    this.name = "QueryTimeoutError";
  }
}

/**
 * A `pg.Pool` set up for the cluster: bounded connect time, every statement bounded
 * ({@link QUERY_TIMEOUT_MS}, the connection closed when it passes), TCP keepalive, a session left idle
 * in a transaction ended by Postgres (its locks freed when the node's connection went silent
 * mid-transaction), and a listener for errors of idle connections (a Postgres restart drops them;
 * without a listener the pool's 'error' event would end the process).
 *
 * @example
 * const pool = createClusterPool({ connectionString: "postgres://hearth@db/hearth", applicationName: "hearth-a" });
 */
export function createClusterPool(options: ClusterPoolOptions): pg.Pool {
  const queryTimeoutMs = options.queryTimeoutMillis ?? QUERY_TIMEOUT_MS;
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 8,
    application_name: options.applicationName,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
    idleTimeoutMillis: 30_000,
    // Unrefs the idle timer (30 s) a released connection gets: released inside an agent's event (its KV
    // write, a facet tree change, a lookup for its stub's call), a ref'd one would count as a timer of
    // the agent's code, which keeps an agent from hibernating (host/actor-timers.ts).
    allowExitOnIdle: true,
    keepAlive: true,
    idle_in_transaction_session_timeout: 2 * queryTimeoutMs,
  });
  queryTimeouts.set(pool, queryTimeoutMs);
  // The pool drops the failed connection itself; the next checkout opens a new one.
  pool.on("error", () => undefined);
  pool.on("connect", (client) => boundQueries(client, queryTimeoutMs));
  return pool;
}

type QueryCallback = (error: Error | undefined, result?: unknown) => void;

/**
 * Gives every statement of `client` that sets no `query_timeout` of its own pg's client-side read
 * timeout of `timeoutMs`; a statement that passes it closes the connection at once (the statements
 * queued behind it fail instead of waiting on a silent socket) and fails with a {@link QueryTimeoutError}.
 * Streams (COPY) are left alone: {@link copyRows} bounds them by the time between their bytes.
 */
function boundQueries(client: pg.PoolClient, timeoutMs: number): void {
  const query = client.query.bind(client) as (config: unknown, values?: unknown, callback?: unknown) => unknown;
  const failed = (error: Error | undefined): Error | undefined => {
    if (error?.message !== "Query read timeout") return error;
    closeConnection(client);
    return new QueryTimeoutError(timeoutMs);
  };
  const bounded = (config: unknown, values?: unknown, callback?: unknown): unknown => {
    if (typeof config === "string") config = { text: config, query_timeout: timeoutMs };
    else if (typeof config !== "object" || config === null || typeof (config as { submit?: unknown }).submit === "function") return query(config, values, callback);
    else if ((config as { query_timeout?: unknown }).query_timeout === undefined) config = { ...config, query_timeout: timeoutMs };
    if (typeof values === "function") return query(config, (error: Error | undefined, result: unknown) => (values as QueryCallback)(failed(error), result));
    if (typeof callback === "function") return query(config, values, (error: Error | undefined, result: unknown) => (callback as QueryCallback)(failed(error), result));
    return (query(config, values) as Promise<unknown>).catch((error: unknown) => {
      throw failed(error as Error) ?? error;
    });
  };
  (client as unknown as { query: typeof bounded }).query = bounded;
}

/** Ends `client`'s connection at once, without a goodbye that a silent network would never carry. */
export function closeConnection(client: pg.ClientBase): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

const ignoreError = (): void => undefined;

/**
 * Checks a client out of the pool with a listener for its 'error' event: the pool guards only idle
 * clients, and a connection reset while one is checked out would otherwise end the process (the
 * query in progress still fails with the error, which is what the caller handles).
 *
 * @example
 * const client = await checkout(pool);
 * try { await client.query("SELECT 1"); } finally { client.release(); }
 */
export async function checkout(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  client.on("error", ignoreError);
  const release = client.release.bind(client);
  client.release = (destroy?: boolean | Error) => {
    client.off("error", ignoreError);
    release(destroy);
  };
  return client;
}

/**
 * Runs `body` in one transaction on a connection of its own: committed when `body` resolves and
 * `keep(result)` says so, rolled back otherwise (and when it throws). A connection that failed for
 * another reason than a Postgres error is not given back to the pool.
 * @example
 * const count = await inTransaction(pool, async (client) => (await client.query("UPDATE …")).rowCount);
 */
export async function inTransaction<T>(pool: pg.Pool, body: (client: pg.PoolClient) => Promise<T>, keep: (result: T) => boolean = () => true): Promise<T> {
  const client = await checkout(pool);
  let failed: unknown;
  try {
    await client.query("BEGIN");
    const result = await body(client);
    await client.query(keep(result) ? "COMMIT" : "ROLLBACK");
    return result;
  } catch (error) {
    failed = error;
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release(failed instanceof Error && !("code" in failed) ? failed : undefined);
  }
}

/**
 * Query parameters of a connection string that node-postgres reads as settings and that carry a
 * secret (`?password=` works as well as `user:password@`); matched without regard to case, as is any
 * parameter whose name contains "password", "secret" or "token".
 */
const SECRET_PARAMETERS = /password|secret|token/i;

/**
 * The connection string without its secrets (the password in it, and query parameters such as
 * `password` and `sslpassword`), for messages.
 * @example
 * redacted("postgres://hearth:pw@db/hearth?password=pw&sslmode=require"); // "postgres://hearth:***@db/hearth?password=***&sslmode=require"
 */
export function redacted(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password) url.password = "***";
    for (const name of new Set(url.searchParams.keys())) if (SECRET_PARAMETERS.test(name)) url.searchParams.set(name, "***");
    return url.toString();
  } catch {
    return "(the connection string)";
  }
}
