/**
 * The inspector UI in headless Chromium against a real host: browse to an agent and edit its state
 * (a connected client receives it), SQL read-only and refused writes, cancelling a schedule, running a
 * queued item now, a workflow advancing live, and restarting a failed team run. Needs Chromium at /usr/bin/chromium; without it the suite is skipped.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { fnMember, team } from "../../../src/teams/index.ts";
import type { WorkflowBinding } from "../../../src/workflow/binding.ts";
import { browserSuite, hasChromium } from "../../support/browser.ts";
import type { Editor, Helpdesk, Notes, NotesState } from "./fixtures.ts";
import { InspectorUi, WAIT } from "./harness.ts";

/** Fails its first call, then answers: a failed run that its restart completes. */
let flakyCalls = 0;
team("ui-flaky", fnMember("flaky", (input: { topic: string }) => {
  if (++flakyCalls === 1) throw new Error("the first try fails");
  return `done: ${input.topic}`;
}));

describe.skipIf(!hasChromium)(browserSuite("inspector UI flows in headless Chromium"), { timeout: 90_000 }, () => {
  const ui = new InspectorUi();
  beforeAll(() => ui.start(), 120_000);
  afterAll(() => ui.close());

  const notes = (name: string) => ui.t!.get<Notes>("Notes", name);
  const alert = (page: Page) => page.getByRole("alert");

  test("browse to an agent, edit its state, and a connected client receives it", async () => {
    await notes("alice").add("first note");
    const received: NotesState[] = [];
    await ui.t!.connect<NotesState>("Notes", "alice", { onStateUpdate: (state) => received.push(state) });

    const page = await ui.fresh("/");
    await page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: "Agents" }).click();
    await page.getByRole("link", { name: "Notes", exact: true }).click();
    await notes("alfred").add("another instance, for the search to leave out");
    await page.getByLabel("Search names").fill("lic");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    const instances = page.getByRole("table", { name: "Instances of Notes" });
    await expect.poll(() => instances.getByRole("link").allTextContents(), { timeout: WAIT }).toEqual(["alice"]);
    await instances.getByRole("link", { name: "alice" }).click();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe("#/agents/Notes/alice");
    await page.getByRole("group", { name: "Agent state" }).getByText('"first"').waitFor();

    // A viewer sees why editing is missing; the admin token unlocks it.
    await page.getByText("Read-only: editing state needs the admin token.").waitFor();
    await ui.unlock(page);
    await page.getByRole("button", { name: "Edit state" }).click();
    await page.getByLabel(/State as JSON/).fill(JSON.stringify({ title: "edited in the inspector", count: 7 }));
    await page.getByRole("button", { name: "Save state" }).click();
    await page.getByText("State saved.").waitFor();
    await expect.poll(() => received.at(-1), { timeout: WAIT }).toEqual({ title: "edited in the inspector", count: 7 });
    await page.getByRole("group", { name: "Agent state" }).getByText('"edited in the inspector"').waitFor();
    await ui.screenshot(page, "agent-state");

    // The agent's validateStateChange refuses a bad state, and its message is shown.
    await page.getByRole("button", { name: "Edit state" }).click();
    await page.getByLabel(/State as JSON/).fill(JSON.stringify({ title: "bad", count: "seven" }));
    await page.getByRole("button", { name: "Save state" }).click();
    await expect(alert(page).textContent()).resolves.toContain("count must be a number");
    expect(received.at(-1)).toEqual({ title: "edited in the inspector", count: 7 });

    // The change is in the audit log, with the admin role and the instance.
    await page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: "Audit" }).click();
    const audited = page.getByRole("table", { name: "Audit log" }).getByRole("row").filter({ hasText: "state.set" });
    await audited.first().waitFor();
    expect(await audited.first().textContent()).toMatch(/admin.*state\.set.*Notes\/alice/);
    expect(ui.problems).toEqual([]);
  });

  test("a read-only query runs; a write is refused without the admin token and runs with it", async () => {
    await notes("bob").add("one");
    const page = await ui.fresh("/agents/Notes/bob/sql");
    await page.getByRole("link", { name: "notes", exact: true }).click();
    await page.getByRole("table", { name: "Rows of notes" }).getByText("one").waitFor();

    const sql = page.getByLabel("SQL (one statement)");
    await sql.fill("SELECT body FROM notes ORDER BY id");
    await page.getByRole("button", { name: "Run query" }).click();
    await page.getByRole("table", { name: "Query result" }).getByText("one").waitFor();

    await sql.fill("INSERT INTO notes (body) VALUES ('sneaky')");
    await page.getByRole("button", { name: "Run query" }).click();
    await expect(alert(page).textContent()).resolves.toMatch(/read-only/);
    expect(await notes("bob").count()).toBe(1);
    await ui.screenshot(page, "agent-sql-refused");

    await ui.unlock(page);
    await page.getByLabel(/Allow writes/).check();
    await sql.fill("INSERT INTO notes (body) VALUES ('by an admin')");
    await page.getByRole("button", { name: "Run query" }).click();
    await page.getByText("1 changed").waitFor();
    expect(await notes("bob").count()).toBe(2);
    expect(ui.problems).toEqual([]);
  });

  test("unlocking with the viewer token is refused with a clear message", async () => {
    const page = await ui.fresh("/");
    await page.getByRole("banner").getByRole("button", { name: "Unlock writes" }).click();
    await page.getByLabel("Admin token").fill(ui.inspector!.token);
    await page.getByRole("dialog").getByRole("button", { name: "Unlock" }).click();
    await page.getByRole("dialog").getByText("That is the viewer token; writes need the admin token.").waitFor();
    await page.getByLabel("Admin token").fill("wrong-token-0123456789");
    await page.getByRole("dialog").getByRole("button", { name: "Unlock" }).click();
    await page.getByRole("dialog").getByText("That token was not accepted.").waitFor();
    expect(await page.getByTestId("role-badge").textContent()).toBe("Read-only");
  });

  test("input that is not JSON is refused in the page, naming what was expected, and nothing is sent", async () => {
    expect(await notes("gina").read()).toEqual({ title: "first", count: 0 });
    const page = await ui.fresh("/agents/Notes/gina/state");
    await ui.unlock(page);
    await page.getByRole("button", { name: "Edit state" }).click();
    await page.getByLabel(/State as JSON/).fill("{ title: oops");
    await page.getByRole("button", { name: "Save state" }).click();
    await expect(alert(page).textContent()).resolves.toMatch(/^Not valid JSON: /);
    expect(await notes("gina").read()).toEqual({ title: "first", count: 0 });

    await ui.go(page, "/agents/Notes/gina/methods");
    await page.locator("#args-add").fill('{"body": "x"}');
    await page.getByRole("button", { name: "Invoke add" }).click();
    await expect(alert(page).textContent()).resolves.toBe("Arguments must be a JSON array.");
    await page.locator("#args-add").fill('["from the methods tab"]');
    await page.getByRole("button", { name: "Invoke add" }).click();
    await page.getByRole("group", { name: "Result of add" }).getByText("1").waitFor();

    await ui.go(page, "/agents/Notes/gina/sql");
    await page.getByLabel("Parameters (JSON, optional)").fill("[1,");
    await page.getByRole("button", { name: "Run query" }).click();
    await expect(alert(page).textContent()).resolves.toBe("Parameters must be JSON: an array for ? or an object for :named.");
    expect(await notes("gina").count()).toBe(1);

    await ui.go(page, "/workflows");
    await page.getByText("Start a workflow").click();
    await page.getByLabel("Workflow (binding name)").fill("Approval");
    await page.getByLabel("Params (JSON)").fill("{to: nobody}");
    await page.getByRole("button", { name: "Start", exact: true }).click();
    await expect(alert(page).textContent()).resolves.toBe("Params must be JSON.");

    await ui.t!.get<Editor>("Editor", "ed-json").review("a first run, so the owner has team runs");
    await ui.go(page, "/agents/Editor/ed-json/children");
    await page.getByText("Start a team run").click();
    await page.getByLabel("Team (its name)").fill("review");
    await page.getByLabel("Input (JSON)").fill("not json");
    await page.getByRole("button", { name: "Start run" }).click();
    await expect(alert(page).textContent()).resolves.toBe("The input must be JSON.");

    await ui.go(page, "/alerts");
    await page.getByText("Add a rule").click();
    await page.getByLabel("Name").fill("No threshold");
    await page.getByLabel("Metric").fill("hearth_agents");
    await page.getByLabel("Threshold").fill("lots");
    await page.getByRole("button", { name: "Add rule" }).click();
    await expect(alert(page).textContent()).resolves.toBe("The threshold must be a number.");
    expect(ui.alerts!.listRules().map((r) => r.name)).not.toContain("No threshold");
    expect(ui.problems).toEqual([]);
  });

  test("an instance's live tab shows its events and log lines as they happen", async () => {
    expect(await notes("hank").count()).toBe(0);
    const page = await ui.fresh("/agents/Notes/hank/live");
    await page.getByRole("status").getByText("live", { exact: true }).waitFor();
    const client = await ui.t!.connect("Notes", "hank");
    await client.call("add", ["seen live"]);
    ui.logs.onRecord({ level: 40, time: Date.now(), msg: "hank wrote a note", agent: "Notes", name: "hank" });
    ui.logs.onRecord({ level: 40, time: Date.now(), msg: "somebody else's line", agent: "Notes", name: "ivy" });
    const lines = page.getByTestId("live-lines");
    await lines.getByText("hank wrote a note").waitFor();
    await lines.getByText("rpc", { exact: true }).first().waitFor();
    expect(await lines.getByText("somebody else's line").count()).toBe(0);
    await ui.screenshot(page, "agent-live-events");
    expect(ui.problems).toEqual([]);
  });

  test("send a message to a connection, then close it", async () => {
    const messages: string[] = [];
    const closes: Array<{ code: number; reason: string }> = [];
    const client = await ui.t!.connect("Notes", "ivan", { shouldReconnectOnClose: () => false });
    client.addEventListener("message", (event) => messages.push(String(event.data)));
    client.addEventListener("close", (event) => closes.push({ code: event.code, reason: event.reason }));
    const page = await ui.fresh("/agents/Notes/ivan/connections");
    await ui.unlock(page);
    const message = page.getByLabel(/^Message to /);
    await message.fill("hello from the inspector");
    await page.getByRole("button", { name: "Send", exact: true }).click();
    await expect.poll(() => messages, { timeout: WAIT }).toContain("hello from the inspector");
    await ui.screenshot(page, "agent-connections-open");
    await page.getByRole("button", { name: "Close", exact: true }).click();
    await expect.poll(() => closes, { timeout: WAIT }).toEqual([{ code: 1000, reason: "closed from the inspector" }]);
    await expect.poll(() => message.count(), { timeout: WAIT }).toBe(0);
    expect(ui.problems).toEqual([]);
  });

  test("start a workflow and send it the event it waits for, from the page", async () => {
    const page = await ui.fresh("/workflows");
    await ui.unlock(page);
    await page.getByText("Start a workflow").click();
    await page.getByLabel("Workflow (binding name)").fill("Approval");
    await page.getByLabel("Instance id (optional)").fill("from-the-page");
    await page.getByLabel("Params (JSON)").fill(JSON.stringify({ to: "jo" }));
    await page.getByRole("button", { name: "Start", exact: true }).click();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe("#/workflows/Approval/from-the-page");
    const status = page.getByTestId("workflow-status");
    await expect.poll(() => status.textContent(), { timeout: WAIT }).toBe("waiting");
    // The form is filled in with the event type the step waits for ("approve"), not the step's name ("approval").
    await expect.poll(() => page.getByLabel("Event type").inputValue(), { timeout: WAIT }).toBe("approve");
    await page.getByText("waiting for an event of type “approve”").waitFor({ state: "attached" });
    await page.getByLabel("Payload (JSON)").fill("{ok: yes}");
    await page.getByRole("button", { name: "Send event" }).click();
    await expect(alert(page).textContent()).resolves.toBe("The payload must be JSON.");
    expect(await status.textContent()).toBe("waiting");
    await page.getByLabel("Payload (JSON)").fill(JSON.stringify({ ok: true }));
    await page.getByRole("button", { name: "Send event" }).click();
    await expect.poll(() => status.textContent(), { timeout: WAIT }).toBe("complete");
    const approval = ui.t!.env["Approval"] as WorkflowBinding<{ to: string }>;
    expect(await (await approval.get("from-the-page")).status()).toMatchObject({ status: "complete", output: { sent: "hello jo" } });

    // Another instance, terminated from its page while it waits.
    await approval.create({ id: "to-terminate", params: { to: "kai" } });
    await ui.go(page, "/workflows/Approval/to-terminate");
    await expect.poll(() => status.textContent(), { timeout: WAIT }).toBe("waiting");
    await page.getByRole("button", { name: "Terminate" }).click();
    await expect.poll(() => status.textContent(), { timeout: WAIT }).toBe("terminated");
    expect(await (await approval.get("to-terminate")).status()).toMatchObject({ status: "terminated" });
    expect(ui.problems).toEqual([]);
  });

  test("add an alert rule from the page, see it fire, and silence it", async () => {
    await notes("kim").add("one agent in memory is enough to fire");
    const page = await ui.fresh("/alerts");
    await ui.unlock(page);
    await page.getByText("Add a rule").click();
    await page.getByLabel("Name").fill("Agents in memory");
    await page.getByLabel("Metric").fill("hearth_agents");
    await page.getByLabel("Threshold").fill("0");
    await page.getByLabel("For (how long it must hold)").fill("0s");
    await page.getByRole("button", { name: "Add rule" }).click();
    await page.getByText("Rule added.").waitFor();
    const rule = ui.alerts!.listRules().find((r) => r.name === "Agents in memory");
    expect(rule).toMatchObject({ kind: "metric", metric: "hearth_agents", threshold: 0 });

    ui.alerts!.evaluate();
    const row = page.getByRole("table", { name: "Alert rules" }).getByRole("row").filter({ hasText: "Agents in memory" });
    await row.getByText("firing").waitFor();
    // The only contact point refuses every notification (400): the page says the test was not delivered.
    const receiver = createServer((_request, response) => response.writeHead(400).end());
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    try {
      ui.alerts!.addContactPoint({ name: "refuses", kind: "webhook", url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/` });
      await row.getByRole("button", { name: "Test" }).click();
      await expect(alert(page).textContent()).resolves.toBe("Test notification not delivered: HTTP 400.");
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
    await page.getByRole("table", { name: "Alert history" }).getByText("firing").first().waitFor();

    await page.getByText("Add a silence").click();
    await page.getByLabel("Rule id (empty: all rules)").fill(rule!.id);
    await page.getByLabel("Comment").fill("known, being fixed");
    await page.getByRole("button", { name: "Add silence" }).click();
    await page.getByRole("table", { name: "Silences" }).getByText("known, being fixed").waitFor();
    expect(ui.alerts!.listSilences()).toMatchObject([{ matchers: { rule: rule!.id }, comment: "known, being fixed" }]);
    await ui.screenshot(page, "alerts-firing");
    expect(ui.problems).toEqual([]);
  });

  test("a chat transcript shows the user's turn, the tool call with its input and output, and the answer", async () => {
    expect(await ui.t!.get<Helpdesk>("Helpdesk", "desk-1").ask("Where is my order A-17?")).toBe("completed");
    const page = await ui.fresh("/agents/Helpdesk/desk-1/chat");
    const transcript = page.locator("main ol.chat");
    await transcript.getByText("Where is my order A-17?").waitFor();
    await transcript.getByText("Order A-17 ships tomorrow.").waitFor();
    // One turn of two model steps (the tool call, then the answer): 5 + 10 input and 5 + 4 output tokens.
    expect(await page.getByTestId("chat-usage").textContent()).toBe("Tokens over 1 turn: 15 input, 9 output (24 in all)");
    await transcript.getByText("lookupOrder").click();
    await page.getByRole("group", { name: "Input of lookupOrder" }).getByText('"A-17"').waitFor();
    await page.getByRole("group", { name: "Output of lookupOrder" }).getByText('"packed"').waitFor();
    expect(await ui.seriousViolations(page)).toEqual([]);
    await ui.screenshot(page, "agent-chat");
    expect(ui.problems).toEqual([]);
  });

  test("a sub-agent is reached from its parent's tab, its own state shown, even with a slash in its name", async () => {
    expect(await notes("lena").noteInThread("q3/plans", "ship the inspector")).toEqual(["ship the inspector"]);
    const page = await ui.fresh("/agents/Notes/lena/children");
    await page.getByRole("link", { name: "Thread/q3/plans" }).click();
    await page.getByRole("heading", { name: "Notes/lena › Thread/q3/plans" }).waitFor();
    await page.getByRole("group", { name: "Agent state" }).getByText('"ship the inspector"').waitFor();
    await ui.screenshot(page, "sub-agent-state");
    expect(ui.problems).toEqual([]);
  });

  test("follow a team run from its owner to its step timeline, and cancel it", async () => {
    const runId = await ui.t!.get<Editor>("Editor", "ed").review("the launch post");
    const page = await ui.fresh("/agents/Editor/ed/children");
    await page.getByRole("table", { name: "Team runs of this agent" }).getByRole("link", { name: runId }).click();
    const status = page.getByTestId("team-run-status");
    await expect.poll(() => status.textContent(), { timeout: WAIT }).toBe("running");
    await page.getByText("by writer").waitFor();
    await ui.screenshot(page, "team-run-running");
    await ui.unlock(page);
    expect(await page.getByRole("button", { name: "Restart run" }).isDisabled()).toBe(true); // not ended yet
    await page.getByRole("button", { name: "Cancel run" }).click();
    await expect.poll(() => status.textContent(), { timeout: WAIT }).toBe("cancelled");
    await page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: "Team runs" }).click();
    await page.getByRole("table", { name: "Team runs" }).getByRole("link", { name: runId }).waitFor();

    // A new run, started from the owner's page, opens at once.
    await ui.go(page, "/agents/Editor/ed/children");
    await page.getByText("Start a team run").click();
    await page.getByLabel("Team (its name)").fill("review");
    await page.getByLabel("Input (JSON)").fill(JSON.stringify("the release notes"));
    await page.getByRole("button", { name: "Start run" }).click();
    await expect.poll(() => page.evaluate(() => location.hash), { timeout: WAIT }).toMatch(/^#\/team-runs\/Editor\/ed\/[\w-]+$/);
    await expect.poll(() => status.textContent(), { timeout: WAIT }).toBe("running");
    await page.getByRole("button", { name: "Cancel run" }).click();
    await expect.poll(() => status.textContent(), { timeout: WAIT }).toBe("cancelled");
    expect(await ui.seriousViolations(page)).toEqual([]);
    expect(ui.problems).toEqual([]);
  });

  test("restart a failed team run from its page and land on the new run", async () => {
    await ui.t!.get<Editor>("Editor", "ed-restart").review("a first run, so the owner has team runs");
    const page = await ui.fresh("/agents/Editor/ed-restart/children");
    await ui.unlock(page);
    await page.getByText("Start a team run").click();
    await page.getByLabel("Team (its name)").fill("ui-flaky");
    await page.getByLabel("Input (JSON)").fill(JSON.stringify({ topic: "tea" }));
    await page.getByRole("button", { name: "Start run" }).click();
    const status = page.getByTestId("team-run-status");
    await expect.poll(() => status.textContent(), { timeout: WAIT }).toBe("failed");
    const failedHash = await page.evaluate(() => location.hash);
    await page.getByText("the first try fails").first().waitFor();

    await page.getByRole("button", { name: "Restart run" }).click();
    await expect.poll(() => page.evaluate(() => location.hash), { timeout: WAIT }).not.toBe(failedHash);
    expect(await page.evaluate(() => location.hash)).toMatch(/^#\/team-runs\/Editor\/ed-restart\/[\w-]+$/);
    await expect.poll(() => status.textContent(), { timeout: WAIT }).toBe("completed");
    await page.locator("summary").filter({ hasText: "flaky" }).first().click();
    await page.getByRole("group", { name: "Input of flaky" }).getByText('"tea"').waitFor();
    await ui.screenshot(page, "team-run-restarted");
    expect(await page.getByRole("button", { name: "Restart run" }).isEnabled()).toBe(true);
    expect(ui.problems).toEqual([]);
  });

  test("cancel a schedule, and run another now", async () => {
    const keep = await notes("carol").plan("run me now");
    const cancel = await notes("carol").plan("cancel me");
    const page = await ui.fresh("/agents/Notes/carol/schedules");
    await page.getByText(cancel).waitFor();
    await ui.unlock(page);
    await page.getByRole("button", { name: `Cancel schedule ${cancel}` }).click();
    await page.getByText(`Cancelled ${cancel}.`).waitFor();
    await expect.poll(() => notes("carol").scheduleIds(), { timeout: WAIT }).toEqual([keep]);
    await expect.poll(() => page.getByRole("cell", { name: cancel, exact: true }).count()).toBe(0);
    await page.getByRole("cell", { name: keep, exact: true }).waitFor();

    // Run now: the callback runs at once, and a one-shot schedule is then done.
    await page.getByRole("button", { name: "Run now" }).click();
    await page.getByText("Ran remind.").waitFor();
    expect(await notes("carol").reminders()).toEqual(["reminded: run me now"]);
    await expect.poll(() => notes("carol").scheduleIds(), { timeout: WAIT }).toEqual([]);
    await page.getByText("No schedules.").waitFor();
    expect(ui.problems).toEqual([]);
  });

  test("a queued item waiting out its retry shows why, and runs now", async () => {
    const id = await notes("rita").queueFlaky("retry me");
    await expect.poll(() => notes("rita").queueAttempts(), { timeout: WAIT }).toEqual([1]); // failed once; its retry is an hour away
    const page = await ui.fresh("/agents/Notes/rita/schedules");
    const queue = page.getByRole("table", { name: "Queued callbacks" });
    await queue.getByText("the first try fails: retry me").waitFor();
    await ui.unlock(page);
    await page.getByRole("button", { name: `Run queued ${id} now` }).click();
    await page.getByText(`Moved ${id} to the head of the queue: it runs now.`).waitFor();
    await expect.poll(() => notes("rita").reminders(), { timeout: WAIT }).toEqual(["reminded: retry me"]);
    expect(await notes("rita").queueAttempts()).toEqual([]);
    await page.getByText("The queue is empty.").waitFor();
    expect(ui.problems).toEqual([]);
  });

  test("watch a workflow advance live", async () => {
    const approval = ui.t!.env["Approval"] as WorkflowBinding<{ to: string }>;
    const instance = await approval.create({ id: "live-1", params: { to: "dana" } });
    const page = await ui.fresh("/workflows");
    await page.getByRole("link", { name: "live-1" }).click();
    const status = page.getByTestId("workflow-status");
    await expect.poll(() => status.textContent(), { timeout: WAIT }).toBe("waiting");
    await page.getByText("draft", { exact: true }).waitFor();
    await ui.screenshot(page, "workflow-waiting");

    // The event arrives from outside the page: the open page follows without a reload.
    await instance.sendEvent({ type: "approve", payload: { ok: true } });
    await expect.poll(() => status.textContent(), { timeout: WAIT }).toBe("complete");
    await page.getByText("send", { exact: true }).waitFor();
    await ui.screenshot(page, "workflow-complete");
    expect(ui.problems).toEqual([]);
  });

});
