/**
 * Team runs: each member call is a `team step {member}` span, and a chat agent answering as a member
 * puts its `invoke_agent` and `chat` spans under that step.
 */
import { convertToModelMessages, streamText } from "ai";
import { afterEach, describe, expect, it } from "vitest";
import { AIChatAgent, createDemoModel, type ChatFinishCallback, type OnChatMessageOptions } from "../../../src/chat/index.ts";
import { Agent } from "../../../src/index.ts";
import { disableTracing, enableTracing, type SpanRecord, type Tracing } from "../../../src/observability/traces/index.ts";
import { chatMember, fnMember, pipeline, team, teamRun } from "../../../src/teams/index.ts";
import { createTestEnv, type TestEnv } from "../../../src/testing/index.ts";

const model = createDemoModel({ wordDelayMs: 0 });

class Writer extends AIChatAgent {
  async onChatMessage(onFinish: ChatFinishCallback, options: OnChatMessageOptions) {
    return streamText({ model, messages: await convertToModelMessages(this.messages), abortSignal: options.abortSignal, onFinish }).toUIMessageStreamResponse();
  }
}

const drafts = team("drafts", pipeline(fnMember("brief", (q: string) => `Draft a reply about ${q}`), chatMember(Writer, { name: "writer", instance: () => "desk-writer" })));

class Desk extends Agent {
  async start(q: string): Promise<string> {
    return (await drafts.start(this, q)).id;
  }
  async result(id: string): Promise<unknown> {
    return teamRun(this, id).result();
  }
}

let t: TestEnv | undefined;
let tracing: Tracing | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  await disableTracing();
});

describe("team runs", () => {
  it("trace each member call as a team step, with the member agent's spans under it", async () => {
    tracing = enableTracing({ otlp: false });
    t = await createTestEnv({ agents: { Desk, Writer }, time: "system" });
    const desk = t.get<Desk>("Desk", "d") as unknown as Desk;
    const id = await desk.start("refunds");
    expect(String(await desk.result(id))).toContain("refunds");
    const spans: SpanRecord[] = tracing.store.listTraces({ limit: 100 }).items.flatMap((item) => tracing!.store.getTrace(item.traceId)!.spans);
    const brief = spans.find((s) => s.name === "team step brief")!;
    const writer = spans.find((s) => s.name === "team step writer")!;
    expect(brief.attributes).toMatchObject({ "gen_ai.workflow.name": "drafts", "hearth.team.run_id": id, "hearth.team.member": "brief" });
    const invoke = spans.find((s) => s.name === "invoke_agent Writer")!;
    expect(invoke.traceId).toBe(writer.traceId);
    const ancestors = new Set<string>();
    for (let at: SpanRecord | undefined = invoke; at; at = spans.find((s) => s.spanId === at!.parentSpanId)) ancestors.add(at.spanId);
    expect(ancestors.has(writer.spanId)).toBe(true);
    const chat = spans.find((s) => s.name.startsWith("chat ") && s.parentSpanId === invoke.spanId)!;
    expect(chat.attributes).toMatchObject({ "gen_ai.operation.name": "chat", "gen_ai.agent.name": "Writer", "gen_ai.agent.id": "desk-writer" });
  });
});
