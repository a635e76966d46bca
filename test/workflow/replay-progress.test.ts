// Progress reports after a replay: steps nested in a step.do are never called again once the outer
// step returns its record, and must not keep the run from going live after a sleep.
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { AgentWorkflow, type AgentWorkflowEvent, type AgentWorkflowStep } from "../../src/workflow/index.ts";

class Desk extends Agent {
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS log (entry TEXT)`;
  }
  start(name: string) {
    return this.runWorkflow(name, {}, { id: name.toLowerCase() });
  }
  override onWorkflowProgress(_name: string, id: string, progress: unknown) {
    this.sql`INSERT INTO log VALUES (${`${id}: ${(progress as { at: string }).at}`})`;
  }
  log() {
    return this.sql<{ entry: string }>`SELECT entry FROM log ORDER BY rowid`.map((row) => row.entry);
  }
}

class Nested extends AgentWorkflow<Desk> {
  async run(_event: AgentWorkflowEvent<unknown>, step: AgentWorkflowStep) {
    // The race inside a step.do, as Cloudflare's rules of workflows recommend.
    await step.do("outer", () => Promise.race([step.do("a", () => "a"), step.do("b", async () => "b")]));
    await this.reportProgress({ at: "before nap" });
    await step.sleep("nap", "1 hour");
    await this.reportProgress({ at: "after nap" });
    await step.do("next", () => 1);
    await step.sleep("second nap", "1 hour");
    await this.reportProgress({ at: "end" });
    return "ok";
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("progress reports after a replay", () => {
  it("are delivered once each when the workflow has nested steps", async () => {
    t = await createTestEnv({ agents: { Desk }, workflows: { Nested }, start: Date.UTC(2031, 0, 1) });
    const desk = t.get<Desk>("Desk", "d");
    await desk.start("Nested");
    await t.clock.settle();
    await t.clock.advance("1 hour");
    await t.clock.advance("1 hour");
    expect(await desk.log()).toEqual(["nested: before nap", "nested: after nap", "nested: end"]);
  });
});
