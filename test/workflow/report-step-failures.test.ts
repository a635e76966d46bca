// AgentWorkflow's steps that message the agent (step.reportComplete and the rest) when the agent's own
// hook throws: each failed attempt is logged with the instance, the agent and the error; the step is
// retried like any step.do; when it never succeeds the instance errors and onWorkflowError runs, as
// with Cloudflare's SDK (whose run() wrapper reports whatever run() throws).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { AgentWorkflow, type AgentWorkflowEvent, type AgentWorkflowStep, type WorkflowBinding } from "../../src/workflow/index.ts";
import { loggedErrors } from "../support/logged-errors.ts";

const START = Date.UTC(2033, 5, 1);

const calls = new Map<string, number>();

class Desk extends Agent {
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS seen (entry TEXT)`;
  }
  start(failures: number) {
    return this.runWorkflow("Report", { failures });
  }
  seen() {
    return this.sql<{ entry: string }>`SELECT entry FROM seen ORDER BY rowid`.map((row) => row.entry);
  }
  override onWorkflowComplete(_name: string, _id: string, result?: unknown) {
    const { failures } = result as { failures: number };
    // Counted in memory: a throwing hook's SQL writes are undone with its event.
    const tries = (calls.get(this.name) ?? 0) + 1;
    calls.set(this.name, tries);
    if (tries <= failures) throw new Error(`the hook broke\n(try ${tries})`);
    this.sql`INSERT INTO seen VALUES ('complete ok')`;
  }
  override onWorkflowError(_name: string, _id: string, error: string) {
    this.sql`INSERT INTO seen VALUES (${`error: ${error}`})`;
  }
}

class Report extends AgentWorkflow<Desk, { failures: number }> {
  async run(event: AgentWorkflowEvent<{ failures: number }>, step: AgentWorkflowStep) {
    await step.reportComplete({ failures: event.payload.failures });
    return "done";
  }
}

let t: TestEnv | undefined;
let errors: ReturnType<typeof loggedErrors>;
beforeEach(() => {
  errors = loggedErrors();
});
afterEach(async () => {
  errors.restore();
  await t?.close();
  t = undefined;
});

const attemptLines = () => errors.text().split("\n").filter((line) => line.includes("__agent_reportComplete"));

describe("report steps whose agent hook throws", () => {
  it("logs each failed attempt on one line with the instance, the agent and the error, and completes once the hook succeeds", async () => {
    t = await createTestEnv({ agents: { Desk }, workflows: { Report }, start: START });
    const desk = t.get<Desk>("Desk", "front");
    const id = await desk.start(2);
    await t.clock.advance("1 hour");
    expect(attemptLines()).toEqual([
      `[hearth] Report/${id}: __agent_reportComplete to Desk/front failed (attempt 1): Error: the hook broke (try 1)`,
      `[hearth] Report/${id}: __agent_reportComplete to Desk/front failed (attempt 2): Error: the hook broke (try 2)`,
    ]);
    expect((await (await (t.env.Report as WorkflowBinding).get(id)).status()).status).toBe("complete");
    expect(calls.get("front")).toBe(3);
    expect(await desk.seen()).toEqual(["complete ok"]);
  });

  it("errors the instance when the hook never succeeds, and reports that to onWorkflowError, as Cloudflare's SDK does", async () => {
    t = await createTestEnv({ agents: { Desk }, workflows: { Report }, start: START });
    const desk = t.get<Desk>("Desk", "back");
    const id = await desk.start(100);
    await t.clock.advance("1 hour");
    expect(attemptLines()).toHaveLength(6); // the first attempt and step.do's 5 retries
    expect(attemptLines()[5]).toContain("failed (attempt 6): Error: the hook broke (try 6)");
    expect((await (await (t.env.Report as WorkflowBinding).get(id)).status()).status).toBe("errored");
    expect((await desk.seen()).at(-1)).toBe("error: the hook broke\n(try 6)");
  });
});
