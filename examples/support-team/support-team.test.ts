/**
 * The support-team example under `hearth dev` (a child process), driven over HTTP and the Desk's
 * WebSocket on the offline demo model: routing to the specialist that fits (each a sub-agent with its
 * own SQLite), the writer's research retried and its drafts judged, the primary model's fallback, a
 * refund approved or rejected, the per-user rate limit (429 with Retry-After), conversation memory in
 * KV read back by a later run, every run's end in D1, and the Slack webhook for CRITICAL answers only.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanup, requireBuild, until } from "../../test/cli/helpers.ts";
import type { Execution, RunSummary } from "./src/index.ts";
import { ask, awayFromWindowEdge, call, killAndRestart, start, startExample, startWebhookReceiver, watchRun, type RunEvent, type RunningExample, type WebhookReceiver } from "./harness.ts";

let example: RunningExample;
let slack: WebhookReceiver;

beforeAll(async () => {
  requireBuild();
  slack = await startWebhookReceiver();
  // The loopback receiver is a private address: the alert may go there because the vars allow it.
  example = await startExample({ ALERT_WEBHOOK_URL: slack.url, ALERT_WEBHOOK_ALLOW_HOSTS: "127.0.0.1" });
}, 120_000);

afterAll(async () => {
  await cleanup();
  await slack?.close();
});

const json = async <T>(path: string): Promise<T> => {
  const response = await fetch(`${example.base}${path}`);
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
};

/** Asks and waits for the run's end; its summary and events. */
async function askAndWait(user: string, question: string): Promise<{ run: RunSummary; events: RunEvent[] }> {
  const id = await start(example.base, user, question);
  const events = await watchRun(example.base, user, id);
  return { run: await call<RunSummary>(example.base, user, "run", [id]), events };
}

const steps = (events: RunEvent[], type: string) => events.filter((event) => event.type === type).map((event) => event.path);

describe("examples/support-team under hearth dev", () => {
  it("routes each question to the specialist that fits (model classification, default below the threshold); each specialist keeps its own SQLite", async () => {
    const user = "rita";
    const support = await askAndWait(user, "My invoice shows the wrong billing address");
    // The analytics specialist reads the D1 log: let the first run's row be written before asking it.
    await until(async () => (await json<Execution[]>(`/api/executions?user=${user}`)).length === 1, "the first run is logged");
    const analytics = await askAndWait(user, "How many requests did we handle this week, and how many failed?");
    const writer = await askAndWait(user, "Write a short announcement about our new dark mode");
    const unclear = await askAndWait(user, "Hello there");
    expect([support, analytics, writer, unclear].map(({ run }) => [run.status, run.route])).toEqual([
      ["completed", "support"],
      ["completed", "analytics"],
      ["completed", "writer"],
      ["completed", "support"], // confidence 0.1 < 0.6: the default
    ]);
    // The decision is a model call, journaled once, before the chosen specialist runs.
    expect(steps(support.events, "step-finished")).toContain("1.route/@1/decision");
    expect(support.run.answer).toMatch(/^Ticket #1 opened\./);
    expect(unclear.run.answer).toMatch(/^Ticket #2 opened\./);
    // The analytics specialist answers from the D1 log: the two runs before it.
    expect(analytics.run.answer).toMatch(/^Report #1 for rita, last 7 days: 1 finished request \(completed 1\); by specialist: support 1;/);
    expect(writer.run.answer).toContain("(Reviewed: draft");

    // The support specialist's tickets live in its own database, read through the desk.
    const tickets = await call<Array<{ id: number; question: string; severity: string }>>(example.base, user, "tickets");
    expect(tickets.map((ticket) => [ticket.id, ticket.question, ticket.severity])).toEqual([
      [2, "Hello there", "normal"],
      [1, "My invoice shows the wrong billing address", "normal"],
    ]);
    // One SQLite file per specialist, beside the desk's own.
    const files = readdirSync(join(example.dir, ".hearth"), { recursive: true }).map(String);
    for (const specialist of ["supportspecialist-support-", "analyticsspecialist-analytics-", "writerspecialist-research-"]) {
      expect(files.some((file) => file.includes(specialist) && file.endsWith(".sqlite")), `${specialist} in ${files.join(", ")}`).toBe(true);
    }
  });

  it("writer: the research step fails once and is retried; two drafts run in parallel and a judge picks one; the review passes it", async () => {
    const { run, events } = await askAndWait("wanda", "Draft an email to customers about the maintenance window");
    expect(run.status).toBe("completed");
    const research = "1.route/@1/writer/0.research";
    expect(events.find((event) => event.type === "step-failed" && event.path === `${research}/@1`)?.data?.error).toEqual({
      name: "SourceUnavailableError",
      message: "research: the source did not answer in time (attempt 1; RESEARCH_FAILURES=1)",
    });
    expect(events.find((event) => event.type === "step-retry")).toMatchObject({ path: research, data: { attempt: 1 } });
    expect(steps(events, "step-finished")).toEqual(
      expect.arrayContaining([`${research}/@2`, "1.route/@1/writer/1.drafts/@1/concise", "1.route/@1/writer/1.drafts/@1/friendly", "1.route/@1/writer/2.judge", "1.route/@1/writer/3.review"]),
    );
    // Both drafts start before either finishes: a fan-out, not a sequence.
    const order = events.map((event) => `${event.type} ${event.path ?? ""}`);
    const started = ["concise", "friendly"].map((name) => order.indexOf(`step-started 1.route/@1/writer/1.drafts/@1/${name}`));
    const finished = ["concise", "friendly"].map((name) => order.indexOf(`step-finished 1.route/@1/writer/1.drafts/@1/${name}`));
    expect(Math.max(...started)).toBeLessThan(Math.min(...finished));
    expect(run.answer).toMatch(/\(Reviewed: draft [12] of 2 chosen by the judge, \d+ words\.\)$/);
  });

  it("support: the primary reply model is down, so the run falls back to the backup", async () => {
    const { run, events } = await askAndWait("fred", "The export button gives me an error");
    const reply = "1.route/@1/support/1.reply/@1";
    expect(events.find((event) => event.type === "step-failed" && event.path === `${reply}/0.reply-primary`)?.data?.error).toEqual({
      name: "ModelUnavailableError",
      message: "offline-demo is unavailable (PRIMARY_MODEL=down)",
    });
    expect(events.find((event) => event.type === "fallback")).toMatchObject({ path: `${reply}/0.reply-primary`, data: { error: { name: "ModelUnavailableError" } } });
    expect(steps(events, "step-finished")).toContain(`${reply}/1.reply-backup`);
    expect(run.status).toBe("completed");
    expect(run.answer).toContain('wrote: "The export button gives me an error"');
  });

  it("a refund waits for a person: approved, the run goes on; rejected, it fails — and both ends are in the D1 log", async () => {
    const user = "rex";
    const approved = await start(example.base, user, "Please refund my last invoice");
    const waiting = await watchRun(example.base, user, approved, (event) => event.type === "run-waiting");
    const requested = waiting.find((event) => event.type === "approval-requested");
    expect(requested).toMatchObject({ path: "1.route/@1/support/0.ticket/approval", data: { prompt: "Approve ticket?", kind: "step" } });
    expect((await call<RunSummary>(example.base, user, "run", [approved])).approvals).toEqual([{ path: requested!.path, prompt: "Approve ticket?", kind: "step" }]);
    expect(await call<RunSummary>(example.base, user, "approve", [approved, requested!.path])).toMatchObject({ id: approved });
    await watchRun(example.base, user, approved);
    expect(await call<RunSummary>(example.base, user, "run", [approved])).toMatchObject({ status: "completed", answer: expect.stringMatching(/^Ticket #1 opened\./) });

    const rejected = await start(example.base, user, "I want a refund for the yearly plan");
    await watchRun(example.base, user, rejected, (event) => event.type === "run-waiting");
    await call(example.base, user, "reject", [rejected, "1.route/@1/support/0.ticket/approval", "Refunds of yearly plans go through sales"]);
    const events = await watchRun(example.base, user, rejected);
    expect(events.at(-1)).toMatchObject({ type: "run-failed", data: { error: { name: "ApprovalRejectedError", message: "Refunds of yearly plans go through sales" } } });

    let log: Execution[] = [];
    await until(async () => (log = await json<Execution[]>(`/api/executions?user=${user}`)).length === 2, "both runs are in the D1 log");
    const byRun = new Map(log.map((row) => [row.runId, row]));
    expect(byRun.get(approved)).toMatchObject({ user, question: "Please refund my last invoice", route: "support", outcome: "completed", error: null, critical: false });
    expect(byRun.get(rejected)).toMatchObject({ route: "support", outcome: "failed", error: "Refunds of yearly plans go through sales" });
    for (const row of log) {
      expect(row.finishedAt).toBeGreaterThanOrEqual(row.startedAt);
      expect(row.durationMs).toBe(row.finishedAt - row.startedAt);
      expect(Math.abs(row.startedAt - Date.now())).toBeLessThan(60_000);
    }
  });

  it("a CRITICAL answer sends one Slack webhook; other answers send none", async () => {
    const user = "carl";
    const calm = await askAndWait(user, "How do I change my password?");
    expect(calm.run.answer).not.toContain("CRITICAL");
    expect(calm.events.filter((event) => event.type === "member-event" && event.path === "2.alert/@1")).toEqual([]);

    const critical = await askAndWait(user, "Production is down for all our users since 9:00");
    expect(critical.run.answer).toMatch(/^Ticket #2 \(CRITICAL\) opened: the on-call team is alerted\./);
    expect(critical.events.find((event) => event.type === "member-event" && event.path === "2.alert/@1")).toMatchObject({
      data: { member: "alert", type: "alert-queued", data: { delivery: `critical:${critical.run.id}` } },
    });
    await until(() => slack.received.length > 0, "the webhook arrived");
    expect(slack.received).toHaveLength(1);
    const [delivery] = slack.received;
    expect(delivery!.headers["content-type"]).toMatch(/^application\/json/);
    expect(delivery!.body).toEqual({
      text: `CRITICAL: carl wrote "Production is down for all our users since 9:00" (run ${critical.run.id})\nTicket #2 (CRITICAL) opened: the on-call team is alerted.`,
    });
    const log = await json<Execution[]>(`/api/executions?user=${user}`);
    expect(log.map((row) => [row.question, row.critical])).toEqual(
      expect.arrayContaining([
        ["How do I change my password?", false],
        ["Production is down for all our users since 9:00", true],
      ]),
    );
  });

  it("conversation memory is kept in KV for 7 days and read back by the next run", async () => {
    const user = "mia";
    await askAndWait(user, "My invoice shows the wrong billing address");
    const memory = await json<{ key: string; ttlSeconds: number; expiration: number; exchanges: Array<{ question: string; answer: string }> }>(`/api/memory?user=${user}`);
    expect(memory.key).toBe("team:conversations:mia");
    expect(memory.exchanges.map((exchange) => exchange.question)).toEqual(["My invoice shows the wrong billing address"]);
    expect(memory.exchanges[0]!.answer).toMatch(/^Ticket #1 opened\./);
    // Stored with expirationTtl 604800: it expires 7 days from the write.
    expect(Math.abs(memory.expiration - (Date.now() / 1000 + 604_800))).toBeLessThan(120);

    const later = await askAndWait(user, "Is there any news about my ticket?");
    expect(later.events.find((event) => event.type === "member-event" && event.path === "0.intake/@1")).toMatchObject({
      data: { type: "memory-read", data: { exchanges: 1, last: "My invoice shows the wrong billing address" } },
    });
    expect(later.run.answer).toContain('Earlier in this conversation: "My invoice shows the wrong billing address"');
    expect((await json<typeof memory>(`/api/memory?user=${user}`)).exchanges).toHaveLength(2);
  });

  it("per-user rate limit through the PER_USER binding: the 6th question in a minute gets 429 with Retry-After; other users go on", async () => {
    // The binding counts per wall-clock minute: a run that crossed into the next minute is repeated with
    // a fresh user (its own count), so a slow machine cannot make the sixth question pass.
    for (let attempt = 1; ; attempt++) {
      await awayFromWindowEdge(10_000);
      const user = `lara-${attempt}`;
      const minute = Math.floor(Date.now() / 60_000);
      for (let count = 1; count <= 5; count++) expect((await ask(example.base, user, `Question ${count}: where is my invoice?`)).status).toBe(202);
      const refused = await ask(example.base, user, "One question too many");
      if (Math.floor(Date.now() / 60_000) !== minute && attempt < 3) continue;
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ error: "rate_limited", message: expect.stringMatching(new RegExp(`^Rate limit reached for key "${user}"; retry after \\d+ s$`)) });
      expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
      // Nothing was started for the refused question.
      expect((await call<RunSummary[]>(example.base, user, "runs")).map((run) => run.question)).not.toContain("One question too many");
      expect((await ask(example.base, `other-${attempt}`, "Where is my invoice?")).status).toBe(202);
      break;
    }
  });

  it("a run waiting for approval survives kill -9: still waiting after the restart, approved it goes on from that step (one ticket), and its end is logged", async () => {
    const user = "kim";
    let server = await startExample({}, "start");
    const id = await start(server.base, user, "Please refund the double charge on my invoice");
    await watchRun(server.base, user, id, (event) => event.type === "run-waiting");
    server = await killAndRestart(server);

    const waiting = await call<RunSummary>(server.base, user, "run", [id]);
    expect(waiting).toMatchObject({ status: "waiting", route: "support", approvals: [{ path: "1.route/@1/support/0.ticket/approval", prompt: "Approve ticket?" }] });
    await call(server.base, user, "approve", [id, "1.route/@1/support/0.ticket/approval"]);
    const events = await watchRun(server.base, user, id);
    // The steps before the approval ran once, before the kill: after it, the run went on from the ticket.
    expect(events.filter((event) => event.type === "step-started" && event.path === "0.intake/@1")).toHaveLength(1);
    expect(events.filter((event) => event.type === "step-started" && event.path === "1.route/@1/decision")).toHaveLength(1);
    expect(events.map((event) => event.type)).toEqual(expect.arrayContaining(["approval-resolved", "run-resumed", "run-completed"]));
    expect(await call<RunSummary>(server.base, user, "run", [id])).toMatchObject({ status: "completed", answer: expect.stringMatching(/^Ticket #1 opened\./) });
    expect(await call<unknown[]>(server.base, user, "tickets")).toHaveLength(1);
    let log: Execution[] = [];
    await until(async () => (log = (await (await fetch(`${server.base}/api/executions?user=${user}`)).json()) as Execution[]).length === 1, "the run's end is in the D1 log");
    expect(log[0]).toMatchObject({ runId: id, outcome: "completed", route: "support" });
  });

  it("refuses bad input with a message that names the limit", async () => {
    expect(await ask(example.base, "nina", "")).toMatchObject({ status: 400, body: { error: 'Ask a question: send JSON { "question": "…" }' } });
    expect(await ask(example.base, "nina", "x".repeat(2001))).toMatchObject({ status: 400, body: { error: "A question is at most 2000 characters (got 2001)" } });
    expect(await ask(example.base, "Not A User", "hi")).toMatchObject({ status: 400, body: { error: "User names are 1-32 of a-z, 0-9 and -, starting with a letter or digit" } });
    // Specialists have no address of their own, and their desk refuses requests from outside.
    const direct = await fetch(`${example.base}/agents/support-specialist/support`);
    expect(direct.status).toBe(400);
    expect(await direct.json()).toEqual({ error: "Invalid request: no agent class is served at /agents/support-specialist/" });
    const through = await fetch(`${example.base}/agents/desk/nina/sub/support-specialist/support`);
    expect(through.status).toBe(404);
    expect(await through.json()).toEqual({ error: "Specialists are reached through the team: ask the desk" });
    expect((await call<RunSummary[]>(example.base, "nina", "runs")).length).toBe(0);
  });
});
