/**
 * A chat agent as a team member: a sub-agent AIChatAgent answers on the demo model in its own
 * conversation; its chunks arrive as member events; a repeated call with the same key finds the same
 * turn instead of starting another.
 */
import { convertToModelMessages, streamText } from "ai";
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { AIChatAgent, createDemoModel, type ChatFinishCallback, type OnChatMessageOptions } from "../../src/chat/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { chatMember, pipeline, fnMember, team, teamRun } from "../../src/teams/index.ts";

const model = createDemoModel({ wordDelayMs: 0 });

class Writer extends AIChatAgent {
  async onChatMessage(onFinish: ChatFinishCallback, options: OnChatMessageOptions) {
    return streamText({ model, messages: await convertToModelMessages(this.messages), abortSignal: options.abortSignal, onFinish }).toUIMessageStreamResponse();
  }
  turns(): number {
    return this.messages.filter((m) => m.role === "assistant").length;
  }
}

const direct = chatMember(Writer, { name: "direct", instance: () => "direct-writer" });

const drafts = team("c-drafts", pipeline(fnMember("brief", (q: string) => `Draft a reply about ${q}`), chatMember(Writer, { name: "writer", instance: () => "desk-writer" })));

class Desk extends Agent {
  async start(q: string): Promise<string> {
    return (await drafts.start(this, q)).id;
  }
  async result(id: string): Promise<unknown> {
    return teamRun(this, id).result();
  }
  events(id: string) {
    return teamRun(this, id).events().map((e) => ({ type: e.type, data: e.data }));
  }
  async writerTurns(instance = "desk-writer"): Promise<number> {
    return (await this.subAgent(Writer, instance)).turns();
  }
  /** The same call twice, as after a crash: the second finds the first's turn. */
  async callTwice(): Promise<unknown[]> {
    const context = { runId: "r", team: "t", path: "p", idempotencyKey: "r:p", signal: new AbortController().signal, owner: this, emit: () => {} };
    const first = await direct.call("hello", context);
    const second = await direct.call("hello", context);
    return [first.output, second.output];
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("chatMember", () => {
  it("runs a headless turn of a chat sub-agent, streaming its chunks as member events", async () => {
    t = await createTestEnv({ agents: { Desk, Writer }, time: "system" });
    const desk = t.get<Desk>("Desk", "d") as unknown as Desk;
    const id = await desk.start("refunds");
    const answer = String(await desk.result(id));
    expect(answer).toContain('You said: "Draft a reply about refunds"');
    const memberEvents = (await desk.events(id)).filter((e) => e.type === "member-event");
    expect(memberEvents.length).toBeGreaterThan(0);
    expect(memberEvents.some((e) => JSON.stringify(e.data).includes("text-delta"))).toBe(true);
    expect(await desk.writerTurns()).toBe(1);
    // The child's tokens count in the run: the step's usage is the chat agent's record of that turn.
    const finished = (await desk.events(id)).filter((e) => e.type === "step-finished").map((e) => e.data as { usage?: { inputTokens?: number; outputTokens?: number } });
    expect(finished.some((d) => (d.usage?.outputTokens ?? 0) > 0)).toBe(true);
  });

  it("a call repeated with the same idempotency key finds the same turn", async () => {
    t = await createTestEnv({ agents: { Desk, Writer }, time: "system" });
    const desk = t.get<Desk>("Desk", "d2") as unknown as Desk;
    const [first, second] = await desk.callTwice();
    expect(second).toEqual(first);
    expect(await desk.writerTurns("direct-writer")).toBe(1);
  });
});
