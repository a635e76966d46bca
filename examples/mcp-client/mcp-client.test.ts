// The assistant mounts an MCP server by URL (here the example's own Dice server, over real HTTP on
// loopback) and hands its tools to a model: a scripted one, so the test needs no API key.
import { MockLanguageModelV4 } from "ai/test";
import type { LanguageModel } from "ai";
import { createTestEnv, type TestEnv } from "hearth/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import worker, { Assistant, Dice } from "./src/index.ts";

/** The assistant with a model that rolls two dice, then reports what the tool said. */
class ScriptedAssistant extends Assistant {
  protected override model(): LanguageModel {
    const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } };
    const roll = Object.keys(this.mcp.getAITools()).find((name) => name.endsWith("_roll"))!;
    let step = 0;
    return new MockLanguageModelV4({
      doGenerate: async (options) => {
        if (step++ === 0) {
          return {
            content: [{ type: "tool-call", toolCallId: "c1", toolName: roll, input: JSON.stringify({ count: 2, sides: 6 }) }],
            finishReason: { unified: "tool-calls", raw: undefined },
            usage,
            warnings: [],
          };
        }
        const result = options.prompt.at(-1);
        return { content: [{ type: "text", text: `You rolled ${JSON.stringify(result?.content)}` }], finishReason: { unified: "stop", raw: undefined }, usage, warnings: [] };
      },
    });
  }
}

let t: TestEnv;
beforeAll(async () => {
  t = await createTestEnv({ agents: { Assistant: ScriptedAssistant, Dice }, fetch: (request, env) => worker.fetch(request, env), time: "system" });
});
afterAll(() => t.close());

it("mounts a server by URL and lets a model use its tools", async () => {
  const mounted = await t.fetch("/agents/assistant/ada", {
    method: "POST",
    body: JSON.stringify({ name: "dice", url: `${await t.url()}/mcp` }),
  });
  const { id, state } = (await mounted.json()) as { id: string; state: string };
  expect(state).toBe("ready");

  const client = await t.connect("Assistant", "ada");
  expect(await client.call("tools")).toEqual([{ name: `tool_${id}_roll`, description: "Rolls dice and returns the results" }]);
  const used = (await client.call("use", [`tool_${id}_roll`, { count: 3, sides: 1_000 }])) as { content: Array<{ text: string }> };
  expect(used.content[0]!.text).toMatch(/^\d+, \d+, \d+ \(total \d+\)$/);

  const answer = (await client.call("ask", ["Roll two dice"])) as { text: string; toolCalls: string[] };
  expect(answer.toolCalls).toEqual([`tool_${id}_roll`]);
  expect(answer.text).toMatch(/You rolled .*total/);

  // Still mounted after a restart (the test server came back on another port, so it cannot reconnect here).
  await t.restart();
  const servers = (await (await t.fetch("/agents/assistant/ada")).json()) as { servers: Record<string, { name: string }> };
  expect(Object.values(servers.servers).map((s) => s.name)).toEqual(["dice"]);
});
