import { randomUUID } from "node:crypto";
import { Agent, callable, type WorkflowInfo, type WorkflowInstanceStatus } from "hearth";
import type { Draft, OutreachParams, OutreachSummary, Progress } from "./outreach.ts";

export interface Env {
  /** Real-time pause in the research and draft steps, so the page shows progress. Default 600. */
  DEMO_DELAY_MS?: string;
}

/** Where an outreach stands, for people. */
export type Phase = "working" | "awaiting approval" | "sending" | "sent" | "rejected" | "timed out" | "failed";

/** One outreach as `list()` returns it. */
export interface OutreachItem {
  id: string;
  prospect: string;
  /** ISO date. */
  createdAt: string;
  /** The workflow instance's status, from `getWorkflowStatus`. */
  status: WorkflowInstanceStatus;
  phase: Phase;
  /** The last progress the workflow reported. */
  progress: Progress | null;
  draft: Draft | null;
  decision: "approved" | "rejected" | null;
  /** The reason given with a rejection. */
  reason: string | null;
  /** ISO date the (fake) email went out. */
  sentAt: string | null;
  output: OutreachSummary | null;
  error: { name: string; message: string } | null;
}

interface Row {
  id: string;
  progress_step: Progress["step"] | null;
  progress_message: string | null;
  recipient: string | null;
  subject: string | null;
  body: string | null;
  decision: "approved" | "rejected" | null;
  reason: string | null;
  sent_at: number | null;
}

const WORKFLOW = "Outreach";

/**
 * An outreach desk per name: `/agents/desk/<name>`. It starts an `Outreach` workflow per prospect,
 * keeps each draft and the last progress in its own SQLite table, and lets a person approve or
 * reject the email while the workflow waits.
 */
export class Desk extends Agent<Env> {
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS outreach (
      id TEXT PRIMARY KEY,
      progress_step TEXT, progress_message TEXT,
      recipient TEXT, subject TEXT, body TEXT,
      decision TEXT, reason TEXT,
      sent_at INTEGER
    )`;
  }

  /** Starts researching and drafting for a prospect; returns the workflow instance id. */
  @callable() async start(prospect: string): Promise<string> {
    const name = typeof prospect === "string" ? prospect.trim().replace(/\s+/g, " ") : "";
    if (name === "" || name.length > 80) throw new Error("Give the prospect's name (1-80 characters).");
    const id = `${slug(name)}-${randomUUID().slice(0, 8)}`;
    // The row exists before the workflow does, so its first callback always finds it.
    this.sql`INSERT INTO outreach (id) VALUES (${id})`;
    try {
      return await this.runWorkflow(WORKFLOW, { prospect: name } satisfies OutreachParams, { id, metadata: { prospect: name } });
    } catch (error) {
      this.sql`DELETE FROM outreach WHERE id = ${id}`;
      throw error;
    }
  }

  /** Lets the waiting workflow send its email. */
  @callable() async approve(id: string): Promise<void> {
    this.#decide(id, "approved", null);
    try {
      await this.approveWorkflow(id);
    } catch (error) {
      this.#undecide(id);
      throw error;
    }
  }

  /** Stops the waiting workflow: it ends as errored with a WorkflowRejectedError. */
  @callable() async reject(id: string, reason?: string): Promise<void> {
    const why = typeof reason === "string" && reason.trim() !== "" ? reason.trim().slice(0, 200) : null;
    this.#decide(id, "rejected", why);
    try {
      await this.rejectWorkflow(id, why === null ? {} : { reason: why });
    } catch (error) {
      this.#undecide(id);
      throw error;
    }
  }

  /** Every outreach of this desk, newest first. */
  @callable() async list(): Promise<OutreachItem[]> {
    const rows = new Map(this.sql<Row>`SELECT * FROM outreach`.map((row) => [row.id, row]));
    const items: OutreachItem[] = [];
    // getWorkflows() returns pages (newest first, up to 100 each); follow the cursor to the end.
    for (let cursor: string | null | undefined; cursor !== null; ) {
      const page = this.getWorkflows({ workflowName: WORKFLOW, limit: 100, ...(cursor ? { cursor } : {}) });
      for (const workflow of page.workflows) items.push(await this.#item(workflow, rows.get(workflow.workflowId)));
      cursor = page.nextCursor;
    }
    return items;
  }

  async #item(workflow: WorkflowInfo, row: Row | undefined): Promise<OutreachItem> {
    const id = workflow.workflowId;
    const { status, output, error } = await this.getWorkflowStatus(WORKFLOW, id);
    const item: Omit<OutreachItem, "phase"> = {
      id,
      prospect: String(workflow.metadata?.prospect ?? ""),
      createdAt: workflow.createdAt.toISOString(),
      status,
      progress: row?.progress_step ? { step: row.progress_step, message: row.progress_message ?? "" } : null,
      draft: row?.subject != null ? { to: row.recipient ?? "", subject: row.subject, body: row.body ?? "" } : null,
      decision: row?.decision ?? null,
      reason: row?.reason ?? null,
      sentAt: row?.sent_at != null ? new Date(row.sent_at).toISOString() : null,
      output: (output as OutreachSummary | undefined) ?? null,
      error: error ?? null,
    };
    return { ...item, phase: phaseOf(item) };
  }

  // Called by the Outreach workflow through `this.agent` (not callable by clients).

  saveDraft(id: string, draft: Draft): void {
    this.sql`UPDATE outreach SET recipient = ${draft.to}, subject = ${draft.subject}, body = ${draft.body} WHERE id = ${id}`;
  }

  /** Records the (fake) send; idempotent, so a retried step does not send twice. Returns when it went out. */
  markSent(id: string): string {
    this.sql`UPDATE outreach SET sent_at = coalesce(sent_at, ${Date.now()}) WHERE id = ${id}`;
    const [row] = this.sql<{ sent_at: number }>`SELECT sent_at FROM outreach WHERE id = ${id}`;
    if (!row) throw new Error(`No outreach ${id} on this desk`);
    return new Date(row.sent_at).toISOString();
  }

  /** Keeps the last progress (so a page opened later sees it), then broadcasts it as usual. */
  override onWorkflowProgress(workflowName: string, workflowId: string, progress: unknown) {
    const { step, message } = progress as Progress;
    this.sql`UPDATE outreach SET progress_step = ${step}, progress_message = ${message} WHERE id = ${workflowId}`;
    return super.onWorkflowProgress(workflowName, workflowId, progress);
  }

  #decide(id: string, decision: "approved" | "rejected", reason: string | null): void {
    const [row] = this.sql<Row>`SELECT * FROM outreach WHERE id = ${String(id)}`;
    if (!row) throw new Error(`No outreach ${JSON.stringify(id)} on this desk`);
    if (row.decision !== null) throw new Error(`This outreach was already ${row.decision}`);
    if (row.subject === null) throw new Error("There is no draft to decide on yet");
    // Written before the await below, so a second click cannot pass the check above.
    this.sql`UPDATE outreach SET decision = ${decision}, reason = ${reason} WHERE id = ${id}`;
  }

  #undecide(id: string): void {
    this.sql`UPDATE outreach SET decision = NULL, reason = NULL WHERE id = ${id}`;
  }
}

function phaseOf(item: Omit<OutreachItem, "phase">): Phase {
  if (item.status === "complete") return "sent";
  if (item.status === "errored" && item.error?.name === "WorkflowRejectedError") return "rejected";
  if (item.status === "errored" && item.error?.name === "WorkflowTimeoutError") return "timed out";
  if (item.status === "errored" || item.status === "terminated" || item.status === "unknown") return "failed";
  if (item.decision === "approved") return "sending";
  if (item.draft) return "awaiting approval";
  return "working";
}

/** A readable start for instance ids (letters, digits and "-"). */
function slug(name: string): string {
  const base = name
    .normalize("NFKD")
    .replace(/[^A-Za-z0-9]+/g, "-")
    .toLowerCase()
    .slice(0, 40)
    .replace(/^-+|-+$/g, "");
  return base || "prospect";
}
