import { describe, expect, it } from "vitest";
import { until } from "./helpers.ts";
import { inspectAppForFile, type InspectApp } from "./inspect-support.ts";

let app: InspectApp;
inspectAppForFile((started) => (app = started));

describe("hearth inspect on an agent's data", { timeout: 120_000 }, () => {
  it("pages a table's rows, and reads sub-agents, MCP servers and the chat transcript", async () => {
    await app.visit("/agents/kitchen/t1");
    expect((await app.inspect(["call", "Kitchen/t1", "fill", "[3]"])).json()).toEqual({ result: 3 });
    const first = await app.inspect(["table", "Kitchen/t1", "dishes", "--limit", "2"]);
    expect(first.stderr).toBe("");
    expect(first.json()).toEqual({ columns: ["id", "name"], rows: [[1, "dish 1"], [2, "dish 2"]], next: expect.any(String) });
    const second = await app.inspect(["table", "Kitchen/t1", "dishes", "--limit", "2", "--cursor", first.json().next]);
    expect(second.json()).toEqual({ columns: ["id", "name"], rows: [[3, "dish 3"]], next: null });
    const table = await app.inspect(["table", "Kitchen/t1", "dishes", "--limit", "2", "--pretty"]);
    expect(table.stdout.split("\n").slice(0, 4)).toEqual(["id  name", "--  ------", "1   dish 1", "2   dish 2"]);
    expect(table.stdout).toContain(`(more: --cursor ${first.json().next})`);

    expect((await app.inspect(["call", "Kitchen/t1", "hire", '["bob","soup"]'])).json()).toEqual({ result: "soup" });
    expect((await app.inspect(["children", "Kitchen/t1"])).json().subAgents).toEqual([{ class: "Cook", name: "bob", createdAt: expect.any(Number) }]);
    expect((await app.inspect(["state", "Kitchen/t1", "--sub", "Cook/bob"])).json()).toEqual({ state: { dish: "soup" } });
    expect((await app.inspect(["mcp", "Kitchen/t1"])).json()).toEqual({ servers: [] });

    await app.visit("/agents/helper/h1");
    expect((await app.inspect(["call", "Helper/h1", "ask", '["hello there"]'])).json()).toEqual({ result: "completed" });
    const chat = (await app.inspect(["chat", "Helper/h1"])).json();
    expect(chat.messages.map((message: { role: string }) => message.role)).toEqual(["user", "assistant"]);
    expect(chat.messages[0].parts).toEqual([{ type: "text", text: "hello there" }]);
    const firstMessage = (await app.inspect(["chat", "Helper/h1", "--limit", "1"])).json();
    expect(firstMessage.messages.map((message: { id: string }) => message.id)).toEqual(["u-0"]);
    expect(firstMessage.next).toEqual(expect.any(String));
  });

  it("lists queued tasks, runs one now and removes one with the admin token the server keeps", async () => {
    await app.visit("/agents/kitchen/q1");
    const id = (await app.inspect(["call", "Kitchen/q1", "queueFailing"])).json().result as string;
    const attempts = async () => ((await app.inspect(["queue", "Kitchen/q1"])).json().items[0]?.attempts as number | undefined) ?? 0;
    await until(async () => (await attempts()) === 1, "the first attempt to fail");
    expect((await app.inspect(["queue", "Kitchen/q1"])).json().items).toEqual([{ id, callback: "burn", payload: { kind: "queued" }, createdAt: expect.any(Number), dueAt: expect.any(Number), attempts: 1, lastError: "burnt on purpose" }]);
    // Its retry is an hour away; run now, its second attempt runs at once.
    expect((await app.inspect(["run-queued", "Kitchen/q1", id])).json()).toEqual({ queued: "now" });
    await until(async () => (await attempts()) === 2, "the second attempt to fail");
    expect((await app.inspect(["audit", "--limit", "1"])).json().items[0]).toMatchObject({ action: "queue.run", role: "admin", target: `Kitchen/q1#${id}` });
    expect((await app.inspect(["dequeue", "Kitchen/q1", id])).json()).toEqual({ deleted: true });
    expect((await app.inspect(["queue", "Kitchen/q1"])).json().items).toEqual([]);
    const again = await app.inspect(["dequeue", "Kitchen/q1", id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`hearth inspect: 404 not_found: Kitchen/q1 has no queued item ${JSON.stringify(id)}\n`);
    expect((await app.inspect(["audit", "--limit", "1"])).json().items[0]).toMatchObject({ action: "queue.delete", role: "admin", target: `Kitchen/q1#${id}` });
  });

  it("sends a message on a WebSocket connection and closes it with the code and reason given", async () => {
    await app.visit("/agents/kitchen/c1");
    const socket = new WebSocket(`${app.url.replace(/^http/, "ws")}/agents/kitchen/c1`);
    const received: string[] = [];
    socket.addEventListener("message", (event) => received.push(String(event.data)));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason })));
    await new Promise((resolve) => socket.addEventListener("open", resolve));
    const connections = (await app.inspect(["connections", "Kitchen/c1"])).json().items as Array<{ id: string }>;
    expect(connections).toHaveLength(1);
    const id = connections[0]!.id;

    expect((await app.inspect(["send-connection", "Kitchen/c1", id, "hi there"])).json()).toEqual({ sent: true });
    await until(() => received.includes("hi there"), "the message to arrive");
    const refused = await app.inspect(["close-connection", "Kitchen/c1", id, "--code", "2000"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--code must be 1000 or from 3000 to 4999 (the close codes an application may send), got "2000"');
    expect((await app.inspect(["close-connection", "Kitchen/c1", id, "--code", "4001", "--reason", "bye"])).json()).toEqual({ closed: true });
    expect(await closed).toEqual({ code: 4001, reason: "bye" });
  });

  it("refuses an option the command does not take and an argument too many, rather than ignoring them", async () => {
    const [option, argument, typo] = await Promise.all([
      app.inspect(["state", "Kitchen/t1", "--level", "error"]),
      app.inspect(["state", "Kitchen/t1", "extra"]),
      app.inspect(["stat", "Kitchen/t1"]),
    ]);
    expect([option.code, argument.code, typo.code]).toEqual([2, 2, 2]);
    expect(option.stderr).toContain("hearth inspect: --level does not apply to state");
    expect(argument.stderr).toContain('hearth inspect: Unexpected argument "extra" for state');
    expect(typo.stderr).toContain('hearth inspect: Unknown command "stat" (did you mean state?)');
  });
});
