/**
 * `AnalyticsSpecialist`: a sub-agent of each user's desk. It answers questions about the desk's
 * own numbers from the execution log in D1, and keeps the reports it wrote in its own SQLite.
 */
import { Agent } from "hearth";
import type { Env } from "../env.ts";

/** What the analytics step gets. */
export interface ReportRequest {
  user: string;
  question: string;
}

const WEEK_MS = 7 * 24 * 3600 * 1000;

export class AnalyticsSpecialist extends Agent<Env> {
  override onStart(): void {
    this.sql`CREATE TABLE IF NOT EXISTS reports (id INTEGER PRIMARY KEY AUTOINCREMENT, question TEXT NOT NULL, answer TEXT NOT NULL, at INTEGER NOT NULL)`;
  }

  /** A report of the user's requests over the last 7 days, from the execution log. */
  async report(request: ReportRequest): Promise<string> {
    const since = Date.now() - WEEK_MS;
    const { results } = await this.env.DB.prepare(
      "SELECT route, outcome, count(*) AS n, avg(duration_ms) AS ms FROM executions WHERE user = ? AND started_at >= ? GROUP BY route, outcome",
    )
      .bind(request.user, since)
      .all<{ route: string | null; outcome: string; n: number; ms: number }>();
    const total = results.reduce((sum, row) => sum + row.n, 0);
    const count = (pick: (row: (typeof results)[number]) => string) => {
      const counts = new Map<string, number>();
      for (const row of results) counts.set(pick(row), (counts.get(pick(row)) ?? 0) + row.n);
      return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([name, n]) => `${name} ${n}`).join(", ");
    };
    const averageMs = total === 0 ? 0 : Math.round(results.reduce((sum, row) => sum + row.ms * row.n, 0) / total);
    const [{ n: reports } = { n: 0 }] = this.sql<{ n: number }>`SELECT count(*) AS n FROM reports`;
    const answer =
      total === 0
        ? `Report #${Number(reports) + 1} for ${request.user}: no finished requests in the last 7 days yet.`
        : `Report #${Number(reports) + 1} for ${request.user}, last 7 days: ${total} finished request${total === 1 ? "" : "s"} (${count((row) => row.outcome)}); ` +
          `by specialist: ${count((row) => row.route ?? "none")}; average time ${averageMs} ms.`;
    this.sql`INSERT INTO reports (question, answer, at) VALUES (${request.question}, ${answer}, ${Date.now()})`;
    return answer;
  }
}
