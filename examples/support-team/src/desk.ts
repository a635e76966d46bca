/**
 * `Desk`: one per user (`/agents/desk/<user>`). It starts the team's runs (rate-limited per user),
 * owns them (journaled in its SQLite, watched over its WebSocket), lets a person approve a waiting
 * step, lists its runs for the page, and logs every run's end to D1. The specialists are its
 * sub-agents, each with its own SQLite.
 */
import { Agent, callable } from "hearth";
import { FlowControlError, toResponse } from "hearth/flow-control";
import { teamRun, type PendingApproval, type TeamRunStatus } from "hearth/teams";
import type { Env } from "./env.ts";
import { logExecution, routeOf } from "./execution-log.ts";
import { LIMITS, questionProblem } from "./limits.ts";
import { SupportSpecialist } from "./specialists/support.ts";
import { supportTeam } from "./team.ts";

/** A run as the page shows it. */
export interface RunSummary {
  id: string;
  question: string;
  status: TeamRunStatus;
  /** The specialist it was routed to, once decided. */
  route: string | null;
  answer: string | null;
  error: string | null;
  approvals: PendingApproval[];
  createdAt: number;
  updatedAt: number;
}

const UNFINISHED: TeamRunStatus[] = ["running", "waiting", "paused"];
const FINISHED: TeamRunStatus[] = ["completed", "failed", "cancelled"];
/** Finished runs checked against the log at start (a run that ended just before a crash). */
const RECHECK_AT_START = 20;

export class Desk extends Agent<Env> {
  /** Runs whose end this instance waits for, to log it. */
  readonly #following = new Set<string>();

  override async onStart(): Promise<void> {
    // Runs a restart interrupted go on by themselves; follow them so their end is logged. A run that
    // ended just before a crash may not be logged yet: the insert is idempotent, so try again.
    for (const record of supportTeam.list(this, { status: UNFINISHED })) this.#follow(record.id);
    for (const record of supportTeam.list(this, { status: FINISHED, limit: RECHECK_AT_START })) await this.#log(record.id);
  }

  /** The specialists answer the team only: requests from outside (`…/sub/support-specialist/…`) are refused. */
  override onBeforeSubAgent(): Response {
    return Response.json({ error: "Specialists are reached through the team: ask the desk" }, { status: 404 });
  }

  /** `POST /agents/desk/<user>/ask` `{ "question": "…" }` → 202 `{ runId }`, 400, or 429 with Retry-After. */
  override async onRequest(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (request.method === "POST" && pathname.endsWith("/ask")) return this.#ask(request);
    if (request.method === "GET" && pathname.endsWith("/runs")) return Response.json(this.runs());
    return Response.json({ error: "Not found: POST …/ask or GET …/runs" }, { status: 404 });
  }

  async #ask(request: Request): Promise<Response> {
    let body: { question?: unknown };
    try {
      body = (await request.json()) as { question?: unknown };
    } catch {
      return Response.json({ error: 'Send JSON: { "question": "…" }' }, { status: 400 });
    }
    const problem = questionProblem(body.question);
    if (problem !== undefined) return Response.json({ error: problem }, { status: 400 });
    try {
      const run = await supportTeam.start(this, String(body.question).trim(), { key: this.name, conversation: this.name });
      this.#follow(run.id);
      return Response.json({ runId: run.id }, { status: 202 });
    } catch (error) {
      // Over the user's rate limit: 429 with Retry-After.
      if (error instanceof FlowControlError) return toResponse(error);
      throw error;
    }
  }

  /** The runs, newest first. */
  @callable() runs(): RunSummary[] {
    return supportTeam.list(this, { limit: LIMITS.maxListedRuns }).map((record) => this.run(record.id));
  }

  /** One run. */
  @callable() run(id: string): RunSummary {
    const handle = teamRun<string>(this, id);
    const record = handle.record();
    return {
      id: record.id,
      question: String(record.input),
      status: record.status,
      route: routeOf(handle.events()),
      answer: typeof record.output === "string" ? record.output : null,
      error: record.error?.message ?? null,
      approvals: record.status === "waiting" ? handle.approvals() : [],
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    };
  }

  /** Approves the step waiting at `path`; the run goes on. */
  @callable() async approve(id: string, path: string): Promise<RunSummary> {
    await teamRun(this, id).approve(path);
    this.#follow(id);
    return this.run(id);
  }

  /** Rejects the step waiting at `path`; the run fails with the reason. */
  @callable() async reject(id: string, path: string, reason = "Rejected by a person"): Promise<RunSummary> {
    await teamRun(this, id).reject(path, reason);
    this.#follow(id);
    return this.run(id);
  }

  /** The support specialist's tickets (its own database), newest first. */
  @callable() async tickets(): Promise<Array<{ id: number; question: string; severity: string; openedAt: number }>> {
    const specialist = await this.subAgent(SupportSpecialist, "support");
    return specialist.tickets();
  }

  #follow(id: string): void {
    if (this.#following.has(id)) return;
    this.#following.add(id);
    void teamRun(this, id)
      .result()
      .catch(() => undefined) // a failed or cancelled run is logged too
      .then(() => this.#log(id))
      .finally(() => this.#following.delete(id));
  }

  async #log(id: string): Promise<void> {
    const handle = teamRun(this, id);
    try {
      await logExecution(this.env.DB, this.name, handle.record(), routeOf(handle.events()));
    } catch (error) {
      const hint = /no such table/i.test(String(error)) ? " (run `npx hearth d1 migrations apply DB` in examples/support-team first)" : "";
      console.error(`[support-team] could not log run ${id} to D1${hint}:`, error);
    }
  }
}
