/**
 * Every agent's team runs, for `GET /api/team-runs` and the overview, without waking agents: the
 * inspector subscribes to the runs' lifecycle channel (`hearth:team.run`) and keeps one row per run in
 * its own SQLite file. Runs that started before the inspector listened are added when their owner is
 * visited (its `…/team-runs` page or a run's detail upserts what it read). Bounded: finished runs
 * older than the retention go, and past the row cap the oldest finished (then oldest) rows go.
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve, sep } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { subscribeTeamRuns, type TeamRunSignal } from "../teams/run-signal.ts";
import { INSPECTOR_LIMITS } from "./limits.ts";

/** One run as the index keeps it (and `GET /api/team-runs` lists it). */
export interface IndexedTeamRun {
  class: string;
  name: string;
  /** Sub-agents below the root down to the owner, as the `sub` query parameter takes it ("" for the root). */
  sub: string;
  runId: string;
  team: string;
  status: string;
  startedAt: number;
  updatedAt: number;
  endedAt: number | null;
  tokens: number;
  costUsd: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS team_runs (
  class TEXT NOT NULL, name TEXT NOT NULL, sub TEXT NOT NULL, run_id TEXT NOT NULL, team TEXT NOT NULL,
  status TEXT NOT NULL, started_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, ended_at INTEGER,
  tokens INTEGER NOT NULL, cost_usd REAL NOT NULL,
  PRIMARY KEY (class, name, sub, run_id)
);
CREATE INDEX IF NOT EXISTS team_runs_started ON team_runs (started_at DESC);
CREATE INDEX IF NOT EXISTS team_runs_status ON team_runs (status, started_at DESC);
CREATE INDEX IF NOT EXISTS team_runs_ended ON team_runs (ended_at) WHERE ended_at IS NOT NULL;
`;

/** The `sub` parameter of a path of sub-agents: `Class/name/…`, each part URL-encoded. */
export function subLabel(sub: ReadonlyArray<{ className: string; name: string }>): string {
  return sub.flatMap((step) => [encodeURIComponent(step.className), encodeURIComponent(step.name)]).join("/");
}

/** The index of team runs, in `<dataDir>/inspector/team-runs.sqlite`. */
export class TeamRunIndex {
  readonly #db: DatabaseSync;
  readonly #upsert: StatementSync;
  readonly #list: StatementSync;
  readonly #counts: StatementSync;
  readonly #dataDir: string;
  readonly #now: () => number;
  #unsubscribe: (() => void) | undefined;
  #writesSincePrune = 0;

  /** `dataDir`: only runs of agents stored under it are kept (several hosts may share a process). */
  constructor(file: string, options: { dataDir: string; durability?: string; now?: () => number }) {
    mkdirSync(dirname(file), { recursive: true });
    this.#db = new DatabaseSync(file);
    this.#db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${options.durability === "strict" ? "FULL" : "NORMAL"};`);
    this.#db.exec(SCHEMA);
    this.#dataDir = resolve(options.dataDir) + sep;
    this.#now = options.now ?? Date.now;
    this.#upsert = this.#db.prepare(
      `INSERT INTO team_runs (class, name, sub, run_id, team, status, started_at, updated_at, ended_at, tokens, cost_usd)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (class, name, sub, run_id) DO UPDATE SET team = excluded.team, status = excluded.status,
         started_at = excluded.started_at, updated_at = excluded.updated_at, ended_at = excluded.ended_at,
         tokens = excluded.tokens, cost_usd = excluded.cost_usd
       WHERE excluded.updated_at >= team_runs.updated_at`,
    );
    this.#list = this.#db.prepare(
      `SELECT * FROM team_runs WHERE (?1 IS NULL OR class = ?1) AND (?2 IS NULL OR status = ?2)
       ORDER BY started_at DESC, class, name, sub, run_id LIMIT ?3 OFFSET ?4`,
    );
    this.#counts = this.#db.prepare("SELECT status, count(*) AS n FROM team_runs WHERE ended_at IS NULL GROUP BY status");
    this.prune();
  }

  /** Starts listening to the runs' channel. */
  listen(): void {
    this.#unsubscribe ??= subscribeTeamRuns((signal) => this.#onSignal(signal));
  }

  #onSignal(signal: TeamRunSignal): void {
    if (!resolve(signal.databaseFile).startsWith(this.#dataDir)) return; // another host's agent
    try {
      this.upsert({ ...signal, class: signal.className, sub: subLabel(signal.sub) });
    } catch (error) {
      // A report must never fail the run that made it.
      console.error("[hearth] inspector: a team run could not be indexed:", error instanceof Error ? error.message : error);
    }
  }

  /** Adds or updates a run (an older report never overwrites a newer one). */
  upsert(run: IndexedTeamRun): void {
    this.#upsert.run(run.class, run.name, run.sub, run.runId, run.team, run.status, run.startedAt, run.updatedAt, run.endedAt, Math.round(run.tokens), run.costUsd);
    if (++this.#writesSincePrune >= INSPECTOR_LIMITS.teamRunPruneEvery) this.prune();
  }

  /** Runs newest first, filtered by owner class and status. */
  list(filter: { class?: string; status?: string; offset: number; limit: number }): { items: IndexedTeamRun[]; more: boolean } {
    const rows = this.#list.all(filter.class ?? null, filter.status ?? null, filter.limit + 1, filter.offset) as unknown as Row[];
    return { items: rows.slice(0, filter.limit).map(toRun), more: rows.length > filter.limit };
  }

  /** How many runs are in each unfinished status. */
  counts(): { running: number; waiting: number; paused: number } {
    const rows = this.#counts.all() as Array<{ status: string; n: number }>;
    const of = (status: string) => rows.find((row) => row.status === status)?.n ?? 0;
    return { running: of("running"), waiting: of("waiting"), paused: of("paused") };
  }

  /** Drops finished runs past the retention, then the oldest rows past the cap (finished ones first). */
  prune(): void {
    this.#writesSincePrune = 0;
    this.#db.prepare("DELETE FROM team_runs WHERE ended_at IS NOT NULL AND ended_at < ?").run(this.#now() - INSPECTOR_LIMITS.teamRunRetentionMs);
    const { n } = this.#db.prepare("SELECT count(*) AS n FROM team_runs").get() as { n: number };
    const over = n - INSPECTOR_LIMITS.maxIndexedTeamRuns;
    if (over <= 0) return;
    this.#db
      .prepare(
        `DELETE FROM team_runs WHERE rowid IN (SELECT rowid FROM team_runs ORDER BY (ended_at IS NULL), started_at LIMIT ?)`,
      )
      .run(over);
  }

  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#db.isOpen) this.#db.close();
  }
}

interface Row {
  class: string;
  name: string;
  sub: string;
  run_id: string;
  team: string;
  status: string;
  started_at: number;
  updated_at: number;
  ended_at: number | null;
  tokens: number;
  cost_usd: number;
}

function toRun(row: Row): IndexedTeamRun {
  return {
    class: row.class,
    name: row.name,
    sub: row.sub,
    runId: row.run_id,
    team: row.team,
    status: row.status,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
    endedAt: row.ended_at,
    tokens: row.tokens,
    costUsd: row.cost_usd,
  };
}
