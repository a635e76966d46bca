/**
 * Model-backed nodes on the offline demo model: a route decided by classification (journaled, never
 * asked twice), a supervisor delegating to members as tools until it answers, a judge over a fan-out.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createDemoModel } from "../../src/chat/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { fnMember, modelMember, parallel, pipeline, route, supervisor, team, teamRun } from "../../src/teams/index.ts";

const model = createDemoModel({ wordDelayMs: 0 });
const calls: string[] = [];
const specialist = (name: string, description: string) =>
  fnMember(name, (input: unknown) => (calls.push(name), `${name} handled ${typeof input === "string" ? input : JSON.stringify(input)}`), { description });

const teams = {
  classified: team(
    "m-classified",
    route({
      routes: { billing: specialist("billing", "invoices and payments"), tech: specialist("tech", "bugs and errors"), general: specialist("general", "anything else") },
      classify: { model, labels: { billing: "invoices, refunds, payments", tech: "bugs, crashes, error messages", general: "anything else" }, threshold: 0.6 },
      default: "general",
    }),
  ),
  supervised: team(
    "m-supervised",
    supervisor({
      name: "lead",
      model,
      instructions: "Answer the user's request using the weather member when it helps.",
      members: [specialist("weather", "Gets the weather forecast for a city"), specialist("stocks", "Looks up a stock price")],
    }),
  ),
  capped: team(
    "m-capped",
    supervisor({
      name: "lead",
      model,
      instructions: "Answer using the weather member.",
      members: [fnMember("weather", () => "sunny ".repeat(500), { description: "Gets the weather forecast for a city" })],
      maxResultChars: 60,
    }),
  ),
  judged: team(
    "m-judged",
    pipeline(
      parallel({ short: fnMember("short", () => "Reset it."), long: fnMember("long", () => "Open settings, choose Reset password, and follow the emailed link.") }),
      fnMember("format", (r: Record<string, string>) => `Pick the best answer.\nCandidates:\n1. ${r.short}\n2. ${r.long}`),
      modelMember("judge", { model }),
    ),
  ),
} satisfies Record<string, { name: string }>;

class Owner extends Agent {
  async run(which: keyof typeof teams, input: string): Promise<unknown> {
    return teams[which].run(this, input);
  }
  async decisions(which: keyof typeof teams, input: string) {
    const run = await teams[which].start(this, input);
    await run.result();
    return teamRun(this, run.id)
      .events()
      .filter((e) => e.type === "step-finished")
      .map((e) => ({ path: e.path, route: (e.data as { output?: { route?: string; by?: string } }).output?.route, by: (e.data as { output?: { by?: string } }).output?.by }));
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  calls.length = 0;
});

async function owner(): Promise<Owner> {
  t = await createTestEnv({ agents: { Owner }, time: "system" });
  return t.get<Owner>("Owner", "o") as unknown as Owner;
}

describe("model-backed team nodes on the demo model", () => {
  it("route by classification, with a default below the threshold", async () => {
    const o = await owner();
    expect(await o.run("classified", "I was charged twice on my invoice, I need a refund")).toBe("billing handled I was charged twice on my invoice, I need a refund");
    expect(await o.run("classified", "The app crashes with an error message")).toBe("tech handled The app crashes with an error message");
    expect(await o.run("classified", "Hello there")).toBe("general handled Hello there");
    expect(await o.decisions("classified", "refund my invoice")).toEqual([
      { path: "decision", route: "billing", by: "model" },
      { path: "billing", route: undefined, by: undefined },
    ]);
  });

  it("supervisor: delegates to the member that fits, then answers with its result", async () => {
    const o = await owner();
    const answer = await o.run("supervised", "What is the weather forecast in Paris?");
    expect(calls).toEqual(["weather"]);
    expect(answer).toContain("weather handled");
  });

  it("a supervisor's model sees a member's answer cut to maxResultChars", async () => {
    const o = await owner();
    const answer = String(await o.run("capped", "What is the weather forecast in Paris?"));
    expect(answer).toContain("… [cut to fit]");
    expect(answer.split("sunny").length - 1).toBeLessThan(15);
  });

  it("a judge picks among parallel candidates", async () => {
    const o = await owner();
    const verdict = String(await o.run("judged", "How do I reset my password?"));
    expect(verdict).toMatch(/Best: candidate 2\./); // after the demo notice
  });
});
