import { convertToModelMessages, streamText, type UIMessage } from "ai";
import { afterEach, describe, expect, it } from "vitest";
import { AIChatAgent, createDemoModel, type ChatFinishCallback } from "../../src/chat/index.ts";
import { callable } from "../../src/index.ts";
import { startInspector, type InspectorHandle } from "../../src/inspector/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { raw } from "./fixture.ts";

class Helper extends AIChatAgent {
  async onChatMessage(onFinish: ChatFinishCallback) {
    const result = streamText({ model: createDemoModel({ wordDelayMs: 0 }), messages: await convertToModelMessages(this.messages), onFinish });
    return result.toUIMessageStreamResponse();
  }

  @callable()
  async ask(text: string): Promise<string> {
    const message: UIMessage = { id: `u-${this.messages.length}`, role: "user", parts: [{ type: "text", text }] };
    return (await this.saveMessages([...this.messages, message])).status;
  }
}

let t: TestEnv | undefined;
let inspector: InspectorHandle | undefined;
afterEach(async () => {
  await inspector?.close();
  await t?.close();
  inspector = undefined;
  t = undefined;
});

describe("inspector chat transcript", () => {
  it("shows a chat agent's messages with their parts, and the feature in the agent's summary", async () => {
    t = await createTestEnv({ agents: { Helper }, time: "system" });
    inspector = await startInspector({ host: t.host, env: {} });
    expect(await t.get<Helper>("Helper", "h").ask("hello there")).toBe("completed");
    const get = async (path: string) => (await raw(new URL(path, inspector!.url).toString(), { headers: { authorization: `Bearer ${inspector!.token}` } })).json();
    const chat = await get("/api/agents/Helper/h/chat");
    expect(chat.streaming).toBe(false);
    expect(chat.messages.map((m: { role: string }) => m.role)).toEqual(["user", "assistant"]);
    expect(chat.messages[0]).toMatchObject({ id: "u-0", parts: [{ type: "text", text: "hello there" }], createdAt: expect.any(Number) });
    expect(chat.messages[1].parts.some((part: { type: string }) => part.type === "text")).toBe(true);
    expect((await get("/api/agents/Helper/h")).features).toContain("chat");
  });

  it("pages the transcript, oldest first", async () => {
    t = await createTestEnv({ agents: { Helper }, time: "system" });
    inspector = await startInspector({ host: t.host, env: {} });
    const helper = t.get<Helper>("Helper", "h");
    for (const text of ["one", "two"]) expect(await helper.ask(text)).toBe("completed");
    const get = async (path: string) => (await raw(new URL(path, inspector!.url).toString(), { headers: { authorization: `Bearer ${inspector!.token}` } })).json();
    const first = await get("/api/agents/Helper/h/chat?limit=3");
    expect(first.messages.map((m: { role: string }) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(first.messages[2]).toMatchObject({ id: "u-2", parts: [{ type: "text", text: "two" }] });
    const second = await get(`/api/agents/Helper/h/chat?limit=3&cursor=${first.next}`);
    expect(second).toMatchObject({ next: null, streaming: false });
    expect(second.messages.map((m: { role: string }) => m.role)).toEqual(["assistant"]);
  });
});
