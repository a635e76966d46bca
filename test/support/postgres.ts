import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "./ports.ts";

/**
 * A real PostgreSQL server for tests: Debian's binaries, a fresh data directory in /tmp, a free
 * loopback port. Postgres refuses to run as root, so under root (CI) it runs as the `postgres` user.
 */
export interface TestPostgres {
  /** `postgres://hearth@127.0.0.1:<port>/hearth` (trust authentication on loopback). */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** A connection string for a fresh, empty database of this server (one per test file keeps them apart). */
  database(name: string): Promise<string>;
  /** `pg_ctl stop -m <mode>` then start again on the same port (immediate: a crash, recovery from WAL). */
  restart(mode?: "fast" | "immediate"): void;
  stop(): void;
}

const BIN_DIRS = ["/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"];

/** Where initdb and pg_ctl are, or undefined when PostgreSQL is not installed. */
export function postgresBinDir(): string | undefined {
  return BIN_DIRS.find((dir) => fs.existsSync(path.join(dir, "initdb")));
}

/** Why tests that need Postgres cannot run here, or undefined when they can. */
export function postgresUnavailable(): string | undefined {
  if (postgresBinDir() === undefined) return "PostgreSQL is not installed (apt-get install postgresql)";
  if (process.getuid?.() === 0 && userIds("postgres") === undefined) return "running as root without a postgres user";
  return undefined;
}

/**
 * Starts a server (about 1–2 s). `durable: false` (the default for unit tests) turns fsync off;
 * fault tests that kill Postgres pass `durable: true`.
 */
export async function startPostgres(options: { durable?: boolean } = {}): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error(postgresUnavailable());
  const runAs = process.getuid?.() === 0 ? userIds("postgres") : undefined;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hearth-pg-"));
  if (runAs) fs.chownSync(dataDir, runAs.uid, runAs.gid);
  let port = await freePort();
  const run = (tool: string, args: string[]): void => {
    const result = spawnSync(path.join(bin, tool), args, { uid: runAs?.uid, gid: runAs?.gid, encoding: "utf8", cwd: dataDir });
    if (result.status !== 0) throw new Error(`${tool} ${args.join(" ")} failed (${result.status}): ${result.stderr || result.stdout}`);
  };
  const pgdata = path.join(dataDir, "data");
  run("initdb", ["-D", pgdata, "-A", "trust", "-U", "hearth", "--no-sync", "-E", "UTF8"]);
  const settings = (): string => [
    `-p ${port}`,
    `-k ${dataDir}`,
    "-c listen_addresses=127.0.0.1",
    "-c max_connections=200",
    `-c fsync=${options.durable ? "on" : "off"}`,
    `-c synchronous_commit=${options.durable ? "on" : "off"}`,
    "-c full_page_writes=on",
  ].join(" ");
  const log = path.join(dataDir, "log");
  const start = (): void => run("pg_ctl", ["-D", pgdata, "-l", log, "-o", settings(), "-w", "start"]);
  // The free port is only free until someone binds it: another test file may take it between
  // freePort() and Postgres's bind. Then take another.
  for (let attempt = 1; ; attempt++) {
    try {
      start();
      break;
    } catch (error) {
      const taken = fs.existsSync(log) && fs.readFileSync(log, "utf8").includes("Address already in use");
      if (!taken || attempt >= 5) throw error;
      fs.rmSync(log, { force: true });
      port = await freePort();
    }
  }
  const url = `postgres://hearth@127.0.0.1:${port}/postgres`;
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    try {
      run("pg_ctl", ["-D", pgdata, "-m", "immediate", "-w", "stop"]);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  };
  process.once("exit", stop);
  return {
    url,
    port,
    dataDir: pgdata,
    async database(name: string) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      const pg = (await import("pg")).default;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://hearth@127.0.0.1:${port}/${name}`;
    },
    restart(mode = "fast") {
      run("pg_ctl", ["-D", pgdata, "-m", mode, "-w", "stop"]);
      start();
    },
    stop,
  };
}

let databases = 0;

/**
 * A server shared by the whole test run (started by test/support/postgres-global.ts), for files that
 * only need databases of their own: `database(name)` makes a fresh one (its name made unique), `stop()`
 * leaves the server running, `restart()` is refused. Falls back to a server of this file's own when the
 * run provides none (a file run outside the suite's config).
 */
export async function sharedPostgres(): Promise<TestPostgres> {
  const { inject } = await import("vitest");
  const url = inject("hearthPostgresUrl");
  const own = url === undefined ? await startPostgres() : undefined;
  const base = new URL(url ?? own!.url);
  return {
    url: base.toString(),
    port: Number(base.port),
    dataDir: own?.dataDir ?? "(shared)",
    async database(name: string) {
      const unique = `${name}_${process.pid}_${++databases}`;
      if (!/^[a-z_][a-z0-9_]*$/.test(unique)) throw new Error(`not a plain database name: ${name}`);
      const pg = (await import("pg")).default;
      const client = new pg.Client({ connectionString: base.toString() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${unique}`);
      } finally {
        await client.end();
      }
      return `postgres://hearth@127.0.0.1:${base.port}/${unique}`;
    },
    restart() {
      throw new Error("the shared test Postgres cannot be restarted: start one of this file's own with startPostgres()");
    },
    stop() {
      own?.stop();
    },
  };
}

function userIds(user: string): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

