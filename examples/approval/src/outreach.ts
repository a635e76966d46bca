import { setTimeout as sleep } from "node:timers/promises";
import { AgentWorkflow, type AgentWorkflowEvent, type AgentWorkflowStep } from "hearth/workflows";
import type { Desk, Env } from "./desk.ts";

export interface OutreachParams {
  prospect: string;
}

/** What the (fake) research step found. */
export interface Research {
  company: string;
  domain: string;
  role: string;
  news: string;
  source: string;
}

/** The email waiting for a human's approval. */
export interface Draft {
  to: string;
  subject: string;
  body: string;
}

/** What the workflow reports at each stage (`this.reportProgress`), and what the page shows. */
export interface Progress {
  step: "research" | "draft" | "approval" | "send" | "sent";
  message: string;
}

/** The workflow's output once the email went out. */
export interface OutreachSummary {
  prospect: string;
  to: string;
  subject: string;
  sentAt: string;
}

/**
 * Research a prospect → draft an email → wait for a human's approval → send. An `AgentWorkflow`, as
 * in Cloudflare's Agents SDK: started by the desk (`runWorkflow`), it calls the desk back through
 * `this.agent` and reports typed progress to it.
 *
 * Every `step.do` result is recorded: after a restart, `run` replays from the top and the recorded
 * research and draft come back without running again, straight to the wait for approval (which
 * lasts up to 7 days, whether or not the server stays up in between).
 */
export class Outreach extends AgentWorkflow<Desk, OutreachParams, Progress, Env> {
  async run(event: AgentWorkflowEvent<OutreachParams>, step: AgentWorkflowStep): Promise<OutreachSummary> {
    const { prospect } = event.payload;
    const id = this.instanceId;
    const pause = demoPause(this.env);

    await this.progress("research", `Researching ${prospect}…`);
    const research = await step.do("research", async () => {
      await pause();
      return fakeResearch(prospect);
    });

    await this.progress("draft", `Drafting an email to ${prospect}, ${research.role} at ${research.company}…`);
    const draft = await step.do("draft", async () => {
      await pause();
      const draft = draftEmail(prospect, research);
      await this.agent.saveDraft(id, draft); // the desk keeps it so people can read it before approving
      return draft;
    });

    await this.progress("approval", "Waiting for approval (up to 7 days)");
    // Throws WorkflowRejectedError on reject() (after telling the desk the reason), WorkflowTimeoutError
    // after 7 days: the instance errors.
    await this.waitForApproval(step, { timeout: "7 days" });

    await this.progress("send", `Sending to ${draft.to}…`);
    // A fake send. A real one would call an email API here with an idempotency key (the instance
    // id): a step can run again if the process dies before its result is recorded.
    const sentAt = await step.do("send", () => this.agent.markSent(id));
    await this.progress("sent", `Sent to ${draft.to}`);

    return { prospect, to: draft.to, subject: draft.subject, sentAt };
  }

  /** Reaches the desk's `onWorkflowProgress`; skipped while recorded steps are replayed. */
  private progress(step: Progress["step"], message: string): Promise<void> {
    return this.reportProgress({ step, message });
  }
}

// Demo stand-ins for a search API and a language model: deterministic, no network.

const COMPANIES = [
  { company: "Northwind Traders", domain: "northwind.example", news: "opened a second warehouse in Rotterdam" },
  { company: "Globex Logistics", domain: "globex.example", news: "is hiring a dozen data engineers" },
  { company: "Initech", domain: "initech.example", news: "moved its billing to a new platform last quarter" },
  { company: "Umbrella Health", domain: "umbrella-health.example", news: "relaunched its patient portal" },
  { company: "Stark Solar", domain: "stark-solar.example", news: "closed a Series B in March" },
];
const ROLES = ["Head of Operations", "VP Engineering", "Chief of Staff", "Director of Sales"];

/** Pretend research: the same prospect always gets the same made-up facts. */
export function fakeResearch(prospect: string): Research {
  const h = hash(prospect.toLowerCase());
  const company = COMPANIES[h % COMPANIES.length]!;
  const role = ROLES[(h >>> 8) % ROLES.length]!;
  return { ...company, role, source: "demo data (no network calls)" };
}

/** Pretend language model: a template. */
export function draftEmail(prospect: string, research: Research): Draft {
  const first = prospect.split(/\s+/)[0] ?? prospect;
  const local = first.normalize("NFKD").replace(/[^A-Za-z0-9]/g, "").toLowerCase() || "hello";
  return {
    to: `${local}@${research.domain}`,
    subject: `${research.company} and a quicker back office`,
    body: [
      `Hi ${first},`,
      "",
      `I saw that ${research.company} ${research.news}. Congratulations! As ${research.role}, you probably ` +
        "feel every manual hand-off twice over. We help teams like yours automate the busywork around growth, " +
        "usually within a couple of weeks.",
      "",
      "Would 20 minutes next week suit you for a quick call?",
      "",
      "Best,",
      "The outreach desk",
    ].join("\n"),
  };
}

/** A short real-time pause so progress is visible in the page; `DEMO_DELAY_MS=0` turns it off. */
function demoPause(env: Env): () => Promise<void> {
  const ms = Number(env.DEMO_DELAY_MS ?? 600);
  return Number.isFinite(ms) && ms > 0 ? () => sleep(ms) : async () => {};
}

/** FNV-1a. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (const char of text) {
    h ^= char.codePointAt(0)!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
