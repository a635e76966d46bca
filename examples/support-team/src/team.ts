/**
 * The support team: one run per question, owned by the user's Desk and journaled in its SQLite.
 *
 *   intake (conversation memory from KV)
 *   → route, by the model's classification (confidence ≥ 0.6, else support):
 *       support:   ticket (sub-agent; refunds wait for approval) → reply (primary model, else backup) → compose
 *       analytics: report (sub-agent, from the D1 execution log)
 *       writer:    research (sub-agent, retried) → drafts (two in parallel) → judge → review
 *   → alert (a Slack webhook when the answer says CRITICAL)
 *   → remember (the exchange back into KV, for 7 more days)
 *
 * Defined at module level: a run interrupted by a restart is resumed by this definition, by name.
 */
import { env } from "cloudflare:workers";
import { rateLimit } from "hearth/flow-control";
import { sendWebhook } from "hearth/integrations";
import { fallback, fnMember, modelMember, parallel, pipeline, route, step, subAgentMember, team, type MemberCallContext, type TeamEntry } from "hearth/teams";
import { flaky } from "./flaky.ts";
import { recall, remember, type Exchange } from "./memory.ts";
import { model, primaryModel } from "./models.ts";
import { AnalyticsSpecialist, type ReportRequest } from "./specialists/analytics.ts";
import { SupportSpecialist, type Ticket, type TicketRequest } from "./specialists/support.ts";
import { WriterSpecialist, type ResearchRequest } from "./specialists/writer.ts";

/** What the intake step saves in the run's scratchpad for the later steps. */
export interface Intake {
  user: string;
  question: string;
  history: Exchange[];
}

/** The routes and what each is for: the classifier's labels. */
export const ROUTE_LABELS = {
  support: "account problems, billing, invoices, refunds, bugs, errors, outages, something broken or down",
  analytics: "numbers, statistics, reports, metrics, counts of requests, trends, usage",
  writer: "write or draft text: announcements, emails, blog posts, release notes",
} as const;
/** Below this confidence the question goes to support. */
export const ROUTE_THRESHOLD = 0.6;
/** Refund requests wait for a person's approval before a ticket is filed. */
const REFUND = /\brefund/i;

const intakeOf = (scratch: Readonly<Record<string, unknown>>): Intake => scratch.intake as Intake;
const userOf = (context: MemberCallContext): string => (context.owner as { name: string }).name;

const intake = fnMember(
  "intake",
  async (question: string, context): Promise<Intake> => {
    const user = userOf(context);
    const history = await recall(user);
    context.emit({ type: "memory-read", data: { exchanges: history.length, last: history.at(-1)?.question ?? null } });
    return { user, question, history };
  },
  { description: "Reads the user's conversation memory" },
);

// support: a ticket in the specialist's own database, then a reply from the primary model or its backup.
const REPLY_SYSTEM = "You are a customer support agent. Write a short, kind reply to the customer about their ticket.";
const support = pipeline(
  step(subAgentMember<TicketRequest, Ticket>(SupportSpecialist, { method: "fileTicket", name: "support", description: "Files a support ticket" }), {
    name: "ticket",
    input: (question, scratch): TicketRequest => ({ ...intakeOf(scratch), question: String(question) }),
    // Called with the shaped input (the TicketRequest above).
    needsApproval: (request) => REFUND.test((request as unknown as TicketRequest).question),
    saveAs: "ticket",
  }),
  step(fallback([modelMember("reply-primary", { model: primaryModel, system: REPLY_SYSTEM }), modelMember("reply-backup", { model, system: REPLY_SYSTEM })]), {
    name: "reply",
    input: (ticket) => (ticket as Ticket).brief,
  }),
  step(
    fnMember("compose", ({ ticket, reply }: { ticket: Ticket; reply: string }) => `${ticket.headline}\n\n${reply}`),
    { input: (reply, scratch) => ({ ticket: scratch.ticket as Ticket, reply: String(reply) }) },
  ),
);

// analytics: a report from the execution log.
const analytics = step(subAgentMember<ReportRequest, string>(AnalyticsSpecialist, { method: "report", name: "analytics", description: "Reports the desk's numbers" }), {
  input: (question, scratch): ReportRequest => ({ user: intakeOf(scratch).user, question: String(question) }),
});

// writer: research (retried: its source is flaky), two drafts at once, a judge picks one, a review checks it.
const research = flaky(subAgentMember<ResearchRequest, string>(WriterSpecialist, { method: "research", name: "research", description: "Prepares a writing brief" }), () =>
  Number(env.RESEARCH_FAILURES ?? 0),
);
const drafts = parallel(
  {
    concise: modelMember("draft-concise", { model, system: "Write the text the brief asks for, in two or three sentences." }),
    friendly: modelMember("draft-friendly", { model, system: "Write the text the brief asks for, warm and friendly, in one short paragraph." }),
  },
  { reduce: (results, brief) => `Which draft serves the request best?\n${String(brief).split("\n")[0]}\nCandidates:\n1. ${String(results.concise)}\n2. ${String(results.friendly)}` },
);
const judge = modelMember("judge", { model, system: "Pick the best candidate. Answer `Best: candidate N.` with one sentence why, a blank line, then that candidate's text." });
const review = fnMember("review", (verdict: string) => {
  // The judge's answer is "Best: candidate N. <why>" then a blank line and the chosen text.
  const picked = /Best: candidate (\d+)/.exec(verdict)?.[1];
  const text = picked === undefined ? verdict : verdict.slice(verdict.indexOf("\n\n") + 2).trim() || verdict;
  if (text.trim() === "") throw new Error("review: the chosen draft is empty");
  return `${text}\n\n(Reviewed: draft ${picked ?? "?"} of 2 chosen by the judge, ${text.split(/\s+/).length} words.)`;
});
const writer = pipeline(
  step(research, { name: "research", retries: 2, backoffMs: 100, input: (question, scratch): ResearchRequest => ({ ...intakeOf(scratch), question: String(question) }) }),
  step(drafts, { name: "drafts", retries: 1 }),
  judge,
  review,
);

/** Sends a Slack-style webhook for an answer that says CRITICAL (once per run: the delivery id is the run's). */
const alert = fnMember("alert", ({ answer, intake }: { answer: string; intake: Intake }, context): string => {
  if (!/\bCRITICAL\b/.test(answer)) return answer;
  const url = env.ALERT_WEBHOOK_URL;
  if (!url) {
    context.emit({ type: "alert-skipped", data: { reason: "ALERT_WEBHOOK_URL is not set" } });
    return answer;
  }
  const allowHosts = (env.ALERT_WEBHOOK_ALLOW_HOSTS ?? "").split(",").map((host) => host.trim()).filter(Boolean);
  const text = `CRITICAL: ${intake.user} wrote "${intake.question}" (run ${context.runId})\n${answer.split("\n")[0]}`;
  const delivery = sendWebhook(context.owner, { style: "slack", url, body: { text } }, { id: `critical:${context.runId}`, allowHosts });
  context.emit({ type: "alert-queued", data: { delivery } });
  return answer;
});

const rememberExchange = fnMember("remember", async ({ answer, intake }: { answer: string; intake: Intake }, context): Promise<string> => {
  const stored = await remember(intake.user, { question: intake.question, answer, at: Date.now() });
  context.emit({ type: "memory-written", data: { exchanges: stored.length } });
  return answer;
});

const outcome = (answer: unknown, scratch: Readonly<Record<string, unknown>>) => ({ answer: String(answer), intake: intakeOf(scratch) });

/** The team. A run's input is the question; its output the answer. */
export const supportTeam = team<string, string>(
  "support-team",
  pipeline(
    step(intake, { saveAs: "intake" }),
    step(route({ routes: { support, analytics, writer }, classify: { model, labels: ROUTE_LABELS, threshold: ROUTE_THRESHOLD }, default: "support" }), {
      name: "route",
      input: (entry) => (entry as Intake).question,
    }),
    step(alert, { input: outcome }),
    step(rememberExchange, { input: outcome }),
  ),
  {
    // Per-user rate limit through the PER_USER binding (5 a minute): over it, start() throws a RateLimitedError (HTTP 429).
    admission: rateLimit<TeamEntry>({ limiter: env.PER_USER, periodSeconds: 60, key: (entry) => entry.key ?? "anonymous" }),
    limits: { tokens: 100_000, costUsd: 0.5, wallMs: 120_000 },
  },
);
