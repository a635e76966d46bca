import { spawn } from "node:child_process";
import { execFileSync } from "node:child_process";
import path from "node:path";
import type pg from "pg";
import { afterAll, afterEach, beforeAll } from "vitest";
import { createClusterPool } from "../../../src/cluster/pg/pool.ts";
import { migrate } from "../../../src/cluster/pg/schema.ts";
import { postgresBinDir, sharedPostgres, startPostgres, type TestPostgres } from "../../support/postgres.ts";

/** Something a test opened and the fixture closes after it. */
interface Closable {
  close(): Promise<void> | void;
}

/**
 * A database per test file (on the run's shared server, or a server of its own) and a fresh cluster schema per test, so tests in a file never
 * see each other's nodes, leases or logs. Pools and other closables are closed after each test.
 */
export interface PgFixture {
  readonly server: TestPostgres;
  readonly url: string;
  /** A cluster pool on this file's database, closed after the test. */
  pool(options?: { max?: number; applicationName?: string; connectionString?: string }): pg.Pool;
  /** Migrates and returns a schema name not used before in this file. */
  schema(pool: pg.Pool): Promise<string>;
  /** Closes `thing` after the test (in reverse order of registration). */
  track<T extends Closable>(thing: T): T;
}

let schemaCounter = 0;

/**
 * `ownServer`: this file stops or restarts Postgres, so it gets a server of its own; otherwise it takes a
 * database on the run's shared server.
 */
export function pgFixture(database: string, options: { ownServer?: boolean } = {}): PgFixture {
  let server: TestPostgres | undefined;
  let url = "";
  let closables: Closable[] = [];
  beforeAll(async () => {
    server = options.ownServer ? await startPostgres() : await sharedPostgres();
    url = await server.database(database);
  }, 30_000);
  afterAll(() => server?.stop());
  afterEach(async () => {
    const open = closables.reverse();
    closables = [];
    for (const thing of open) await Promise.resolve(thing.close()).catch(() => undefined);
  });
  const fixture: PgFixture = {
    get server() {
      return server!;
    },
    get url() {
      return url;
    },
    pool(options = {}) {
      const pool = createClusterPool({ connectionString: options.connectionString ?? url, max: options.max ?? 8, applicationName: options.applicationName, connectionTimeoutMillis: 2_000 });
      return fixture.track({ close: () => pool.end(), pool }).pool;
    },
    async schema(pool) {
      const name = `c${process.pid}_${++schemaCounter}`;
      await migrate(pool, { schema: name });
      return name;
    },
    track(thing) {
      closables.push(thing);
      return thing;
    },
  };
  return fixture;
}

/** Waits until `check` returns true, polling every 10 ms; throws after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Stops and starts the server without blocking the event loop (TestPostgres.restart does both in one
 * synchronous call, which leaves no moment to act while the server is down).
 */
export function pgControl(server: TestPostgres): { stop(): Promise<void>; start(): Promise<void> } {
  const bin = postgresBinDir()!;
  const ids = process.getuid?.() === 0 ? { uid: Number(idOf("-u")), gid: Number(idOf("-g")) } : {};
  const socketDir = path.dirname(server.dataDir);
  const settings = `-p ${server.port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off -c synchronous_commit=off`;
  const pgCtl = (args: string[]): Promise<void> =>
    new Promise((resolve, reject) => {
      const child = spawn(path.join(bin, "pg_ctl"), args, { ...ids, cwd: socketDir, stdio: "ignore" });
      child.once("error", reject);
      child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`pg_ctl ${args.join(" ")} exited with ${code}`))));
    });
  return {
    stop: () => pgCtl(["-D", server.dataDir, "-m", "fast", "-w", "stop"]),
    start: () => pgCtl(["-D", server.dataDir, "-l", path.join(socketDir, "log"), "-o", settings, "-w", "start"]),
  };
}

function idOf(flag: string): string {
  return execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim();
}
