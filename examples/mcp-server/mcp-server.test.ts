import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { createTestEnv, type TestEnv } from "hearth/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import server, { Todos } from "./src/index.ts";

let t: TestEnv;
beforeAll(async () => {
  t = await createTestEnv({ agents: { Todos }, fetch: (request, env, ctx) => server.fetch(request, env, ctx), time: "system" });
});
afterAll(() => t.close());

it("keeps each client's to-do list in its own session", async () => {
  const connect = async () => {
    const client = new Client({ name: "example", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${await t.url()}/mcp`)));
    return client;
  };
  const [a, b] = [await connect(), await connect()];
  await a.callTool({ name: "add_todo", arguments: { title: "water the plants" } });
  await a.callTool({ name: "add_todo", arguments: { title: "call mum" } });
  const done = (await a.callTool({ name: "complete_todo", arguments: { id: 1 } })) as { content: Array<{ text: string }> };
  expect(done.content[0]!.text).toBe("Done #1 (1 done in this session)");
  expect((await a.readResource({ uri: "todos://open" })).contents[0]).toMatchObject({ text: "#2 call mum" });
  expect((await b.readResource({ uri: "todos://open" })).contents[0]).toMatchObject({ text: "" });
  const missing = await b.callTool({ name: "complete_todo", arguments: { id: 1 } });
  expect(missing.isError).toBe(true);
  const prompt = await a.getPrompt({ name: "plan_day", arguments: { hours: "3" } });
  expect(JSON.stringify(prompt.messages)).toContain("todos://open");
  await a.close();
  await b.close();
});
