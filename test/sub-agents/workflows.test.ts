import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { AgentWorkflow, type AgentWorkflowEvent, type AgentWorkflowStep } from "../../src/workflow/index.ts";

/** A sub-agent that runs a workflow (Cloudflare's sub-agents cannot: cloudflare/agents#1359). */
class Project extends Agent {
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS log (entry TEXT)`;
  }
  build(target: string) {
    return this.runWorkflow("Build", { target });
  }
  note(text: string) {
    this.sql`INSERT INTO log VALUES (${text})`;
  }
  log() {
    return this.sql<{ entry: string }>`SELECT entry FROM log ORDER BY rowid`.map((row) => row.entry);
  }
  override onWorkflowComplete(name: string, _id: string, result?: unknown) {
    this.note(`complete ${name} ${JSON.stringify(result)}`);
  }
}

class Workspace extends Agent {
  async build(project: string, target: string) {
    return (await this.subAgent(Project, project)).build(target);
  }
  async log(project: string) {
    return (await this.subAgent(Project, project)).log();
  }
}

class Build extends AgentWorkflow<Project, { target: string }> {
  async run(event: AgentWorkflowEvent<{ target: string }>, step: AgentWorkflowStep) {
    await step.do("compile", () => this.agent.note(`compiled ${event.payload.target} in ${this.instanceId}`));
    await step.sleep("cool down", "1 minute");
    return { built: event.payload.target };
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("workflows in a sub-agent", () => {
  it("are started by the sub-agent, call it back as this.agent, and report completion to it", async () => {
    t = await createTestEnv({ agents: { Workspace, Project }, workflows: { Build }, start: Date.UTC(2032, 0, 1) });
    const workspace = t.get<Workspace>("Workspace", "acme");
    const id = await workspace.build("api", "linux");
    await t.clock.settle();
    await t.clock.advance("2 minutes");
    expect(await workspace.log("api")).toEqual([`compiled linux in ${id}`, `complete Build {"built":"linux"}`]);
    // The root agent of the sub-agent's class with the same name is untouched.
    expect(await t.get<Project>("Project", "api").log()).toEqual([]);
  });
});
