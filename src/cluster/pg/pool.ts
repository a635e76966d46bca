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
}

/**
 * A `pg.Pool` set up for the cluster: bounded connect time, and a listener for errors of idle
 * connections (a Postgres restart drops them; without a listener the pool's 'error' event would
 * end the process).
 *
 * @example
 * const pool = createClusterPool({ connectionString: "postgres://hearth@db/hearth", applicationName: "hearth-a" });
 */
export function createClusterPool(options: ClusterPoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 8,
    application_name: options.applicationName,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
    idleTimeoutMillis: 30_000,
  });
  // The pool drops the failed connection itself; the next checkout opens a new one.
  pool.on("error", () => undefined);
  return pool;
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

/** The connection string without its password, for messages. */
export function redacted(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password) url.password = "***";
    return url.toString();
  } catch {
    return "(the connection string)";
  }
}
