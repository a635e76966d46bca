/**
 * The execution log: one row per run in D1 (migrations/0001_create_executions.sql), written when the
 * run ends. The insert is keyed by the run's id, so writing it again (after a restart) changes nothing.
 */
import type { D1Database } from "hearth";
import type { TeamEvent, TeamRunRecord } from "hearth/teams";

/** A row of the log, as `/api/executions` returns it. */
export interface Execution {
  runId: string;
  user: string;
  question: string;
  route: string | null;
  outcome: "completed" | "failed" | "cancelled";
  error: string | null;
  critical: boolean;
  startedAt: number;
  finishedAt: number;
  durationMs: number;
}

/**
 * The specialist a run was routed to, read from its events: the route's decision is the step
 * `<route>/decision`, and the chosen specialist's steps run under `<route>/<name>/…`.
 */
export function routeOf(events: readonly TeamEvent[]): string | null {
  const decision = events.find((event) => event.path?.endsWith("/decision"))?.path;
  if (decision === undefined) return null;
  const prefix = decision.slice(0, -"decision".length);
  for (const event of events) {
    if (event.path === undefined || !event.path.startsWith(prefix) || event.path === decision) continue;
    return event.path.slice(prefix.length).split("/")[0] ?? null;
  }
  return null;
}

/** Writes the run's row unless it is there already; a run that has not ended is not logged. */
export async function logExecution(db: D1Database, user: string, record: TeamRunRecord, route: string | null): Promise<void> {
  if (record.status !== "completed" && record.status !== "failed" && record.status !== "cancelled") return;
  const critical = typeof record.output === "string" && /\bCRITICAL\b/.test(record.output) ? 1 : 0;
  await db
    .prepare(
      "INSERT OR IGNORE INTO executions (run_id, user, question, route, outcome, error, critical, started_at, finished_at, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(record.id, user, String(record.input), route, record.status, record.error?.message ?? null, critical, record.createdAt, record.updatedAt, record.updatedAt - record.createdAt)
    .run();
}

/** The user's rows, newest first. */
export async function listExecutions(db: D1Database, user: string, limit: number): Promise<Execution[]> {
  const { results } = await db
    .prepare("SELECT * FROM executions WHERE user = ? ORDER BY started_at DESC LIMIT ?")
    .bind(user, limit)
    .all<{ run_id: string; user: string; question: string; route: string | null; outcome: Execution["outcome"]; error: string | null; critical: number; started_at: number; finished_at: number; duration_ms: number }>();
  return results.map((row) => ({
    runId: row.run_id,
    user: row.user,
    question: row.question,
    route: row.route,
    outcome: row.outcome,
    error: row.error,
    critical: row.critical === 1,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    durationMs: row.duration_ms,
  }));
}
