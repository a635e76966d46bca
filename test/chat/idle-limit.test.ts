/**
 * `chatLimits.maxTurnIdleMs`, the stalled-reply watchdog: off by default (0), as the Agents SDK's
 * `chatStreamStallTimeoutMs`, so a server tool that takes its time keeps its result; set, a reply
 * that produces nothing for that long is still aborted, naming the limit.
 */
import { jsonSchema, tool, type ToolSet, type UIMessage } from "ai";
import { afterEach, describe, expect, test } from "vitest";
import { CHAT_LIMITS, resolveChatLimits } from "../../src/chat/limits.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { Chat, resetWorld } from "./fixture.ts";
import { ChatClient, scriptedModel, textStream, toolCallStream, userMessage } from "./helpers.ts";

let t: TestEnv;
afterEach(async () => {
  await t?.close();
});

/** Turns the watchdog off explicitly. */
export class OffIdleChat extends Chat {
  chatLimits = { maxTurnIdleMs: 0 };
}

/** A watchdog shorter than the slow tool. */
export class ShortIdleChat extends Chat {
  chatLimits = { maxTurnIdleMs: 300 };
}

async function env(): Promise<string> {
  t = await createTestEnv({ agents: { Chat, OffIdleChat, ShortIdleChat }, time: "system" });
  return (await t.url()).replace(/^http/, "ws");
}

/** A server tool that answers after `ms` without producing a chunk meanwhile. */
function slowTool(ms: number): ToolSet {
  return {
    slow: tool({
      inputSchema: jsonSchema({ type: "object" }),
      execute: async () => {
        await new Promise((resolve) => setTimeout(resolve, ms));
        return "slow result";
      },
    }),
  };
}

async function toolPart(name: string, agent: "Chat" | "OffIdleChat" | "ShortIdleChat"): Promise<Record<string, unknown> | undefined> {
  const history = (await t.get<Chat>(agent, name).history()) as UIMessage[];
  return history[1]?.parts.find((part) => part.type === "tool-slow") as Record<string, unknown> | undefined;
}

describe("maxTurnIdleMs", () => {
  test("is off by default, and 0 is accepted as off", () => {
    expect(CHAT_LIMITS.maxTurnIdleMs).toBe(0);
    expect(resolveChatLimits(undefined).maxTurnIdleMs).toBe(0);
    expect(resolveChatLimits({ maxTurnIdleMs: 0 }).maxTurnIdleMs).toBe(0);
    expect(() => resolveChatLimits({ maxTurnIdleMs: -1 })).toThrow("chatLimits.maxTurnIdleMs must be 0 (off) or a positive number, got -1");
    expect(() => resolveChatLimits({ maxQueuedTurns: 0 })).toThrow("chatLimits.maxQueuedTurns must be a positive number, got 0");
  });

  test.each([
    ["by default", "Chat", "chat"],
    ["set to 0", "OffIdleChat", "off-idle-chat"],
  ] as const)("off (%s), a server tool that runs longer than a short limit would allow keeps its result", async (_how, agent, path) => {
    resetWorld(scriptedModel(toolCallStream("s1", "slow", {}), textStream("done")), slowTool(700));
    const ws = await env();
    const client = await ChatClient.open(ws, "i1", "", path);
    const id = client.send([userMessage("u1", "run the slow tool")]);
    expect(await client.done(id)).toMatchObject({ outcome: "completed" });
    expect(await toolPart("i1", agent)).toMatchObject({ state: "output-available", output: "slow result" });
    client.close();
  });

  test("set, a turn waiting on a slower server tool is aborted with an error naming the limit", async () => {
    resetWorld(scriptedModel(toolCallStream("s1", "slow", {}), textStream("done")), slowTool(900));
    const ws = await env();
    const client = await ChatClient.open(ws, "i2", "", "short-idle-chat");
    const id = client.send([userMessage("u1", "run the slow tool")]);
    const done = await client.done(id);
    expect(done).toMatchObject({ outcome: "error", error: true });
    expect(done.body).toMatch(/maxTurnIdleMs/);
    expect(await toolPart("i2", "ShortIdleChat")).toMatchObject({ state: "output-error", errorText: "interrupted before the tool finished" });
    client.close();
  });
});
