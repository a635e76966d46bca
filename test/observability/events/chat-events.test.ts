import { jsonSchema, tool } from "ai";
import { afterEach, describe, expect, it } from "vitest";
import type { TestEnv } from "../../../src/testing/index.ts";
import { chatEnv, resetWorld, world } from "../../chat/fixture.ts";
import { ChatClient, Gate, scriptedModel, textOf, textStream, toolCallStream, until, userMessage } from "../../chat/helpers.ts";
import { collect, type Collected } from "./collect.ts";

let t: TestEnv | undefined;
let seen: Collected | undefined;
afterEach(async () => {
  seen?.stop();
  seen = undefined;
  await t?.close();
  t = undefined;
});

describe("chat events", () => {
  it("message:request and message:response for a turn, message:cancel for a cancel, message:clear for a clear", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(textStream("hello there"), gate.stream));
    let ws: string;
    ({ t, ws } = await chatEnv());
    seen = collect();
    const client = await ChatClient.open(ws, "e1");
    const first = client.send([userMessage("u1", "hi")]);
    await client.done(first);
    const second = client.send([userMessage("u1", "hi"), userMessage("u2", "more")]);
    gate.text("In the ");
    await until(() => textOf(client.responses(second)) === "In the ", "the first words");
    client.socket.send({ type: "cf_agent_chat_request_cancel", id: second });
    await client.done(second);
    await until(() => world.responses.length === 2, "the second turn's end");
    client.socket.send({ type: "cf_agent_chat_clear" });
    await until(() => seen!.of("e1").some(([type]) => type === "message:clear"), "the clear");
    expect(seen.of("e1").filter(([type]) => type.startsWith("message:"))).toEqual([
      ["message:request", {}],
      ["message:response", {}],
      ["message:request", {}],
      ["message:cancel", { requestId: second }],
      ["message:clear", {}],
    ]);
    client.close();
  });

  it("tool:approval for an approval frame, message:error for a turn that fails", async () => {
    const remove = tool({
      inputSchema: jsonSchema<{ path: string }>({ type: "object", properties: { path: { type: "string" } }, required: ["path"] }),
      needsApproval: true,
      execute: async ({ path }) => ({ removed: path }),
    });
    const failing = () => {
      throw new Error("model down");
    };
    resetWorld(scriptedModel(toolCallStream("d1", "remove", { path: "a.txt" }), textStream("Deleted."), failing), { remove });
    let ws: string;
    ({ t, ws } = await chatEnv());
    seen = collect();
    const client = await ChatClient.open(ws, "e2");
    await client.done(client.send([userMessage("u1", "delete a.txt")]));
    client.socket.send({ type: "cf_agent_tool_approval", toolCallId: "d1", approved: true, autoContinue: true });
    await until(() => world.responses.length === 2, "the continuation");
    const history = world.responses[1]!.message ? [userMessage("u1", "delete a.txt"), world.responses[1]!.message] : [];
    const failed = client.send([...history, userMessage("u2", "again")]);
    await client.done(failed);
    await until(() => seen!.of("e2").some(([type]) => type === "message:error"), "the error event");
    const events = seen.of("e2").filter(([type]) => type.startsWith("message:") || type.startsWith("tool:"));
    expect(events).toEqual([
      ["message:request", {}],
      ["message:response", {}],
      ["tool:approval", { toolCallId: "d1", approved: true }],
      ["message:request", {}],
      ["message:response", {}],
      ["message:request", {}],
      ["message:error", { error: "An error occurred." }], // the AI SDK masks the model's error in the stream
    ]);
    client.close();
  });
});
