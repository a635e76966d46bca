import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../support/harness.ts";
import { Desk, GuardedDesk, resetDesk, RoutedDesk, StrictDesk } from "./desk.ts";
import { buildCard } from "../../src/a2a/card.ts";
import { resolveServerOptions } from "../../src/a2a/options.ts";
import { error, result, rpc, userMessage, userMessageV03, type Json, type Wire } from "./spec-client.ts";

let harness: Harness;
let endpoint: string;

beforeEach(async () => {
  resetDesk();
  harness = await startHarness({ Desk, StrictDesk, GuardedDesk, RoutedDesk });
  endpoint = `${harness.url}/agents/desk/main`;
});
afterEach(() => harness.close());

describe("the agent card", () => {
  it("is served at .well-known/agent-card.json in the v1.0 shape, with v0.3's top-level fields", async () => {
    const response = await fetch(`${endpoint}/.well-known/agent-card.json`);
    expect(response.status).toBe(200);
    const card = (await response.json()) as Json;
    expect(card).toMatchObject({
      name: "Desk",
      description: "Echoes, waits, asks and fails on request",
      version: "1.0.0",
      supportedInterfaces: [
        { url: endpoint, protocolBinding: "JSONRPC", protocolVersion: "1.0" },
        { url: endpoint, protocolBinding: "JSONRPC", protocolVersion: "0.3" },
      ],
      capabilities: { streaming: true, pushNotifications: true, extendedAgentCard: true },
      defaultInputModes: ["text/plain"],
      skills: [{ id: "echo", name: "Echo" }],
      url: endpoint,
      protocolVersion: "0.3.0",
      preferredTransport: "JSONRPC",
      supportsAuthenticatedExtendedCard: true,
    });
    const strict = (await (await fetch(`${harness.url}/agents/strict-desk/s/.well-known/agent-card.json`)).json()) as Json;
    expect(strict.capabilities).toEqual({ streaming: true, pushNotifications: true, extendedAgentCard: false });
  });

  it("answers the extended card by both names, and -32007 where there is none", async () => {
    expect(await result(endpoint, "GetExtendedAgentCard", {}, { authorization: "Bearer x" })).toMatchObject({ name: "Desk (extended)", description: "for Bearer x" });
    expect((await result(endpoint, "agent/getAuthenticatedExtendedCard")).name).toBe("Desk (extended)");
    expect(await error(`${harness.url}/agents/strict-desk/s`, "GetExtendedAgentCard")).toMatchObject({ code: -32007, message: "This agent has no extended agent card" });
  });
});

describe("SendMessage and message/send", () => {
  it("v1.0: a blocking send returns { task } completed with its artifact, in TASK_STATE_* / ROLE_* shapes", async () => {
    const sent = await result(endpoint, "SendMessage", { message: userMessage("echo hi") });
    const { task } = sent;
    expect(task.status.state).toBe("TASK_STATE_COMPLETED");
    expect(task.kind).toBeUndefined();
    expect(task.artifacts).toEqual([expect.objectContaining({ name: "echo", parts: [{ text: "hi" }] })]);
    expect(task.history).toEqual([expect.objectContaining({ role: "ROLE_USER", parts: [{ text: "echo hi" }], taskId: task.id, contextId: task.contextId })]);
    expect(task.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("v0.3: message/send returns the task with kind discriminators and lowercase states", async () => {
    const task = await result(endpoint, "message/send", { message: userMessageV03("echo there"), configuration: { blocking: true } });
    expect(task).toMatchObject({ kind: "task", status: { state: "completed" } });
    expect(task.artifacts[0].parts).toEqual([{ kind: "text", text: "there" }]);
    expect(task.history[0]).toMatchObject({ kind: "message", role: "user" });
  });

  it("file and data parts of either version are kept and answered in the asked version's shape", async () => {
    const parts = [
      { kind: "text", text: "echo parts" },
      { kind: "file", file: { uri: "https://files.example/a.pdf", mimeType: "application/pdf", name: "a.pdf" } },
      { kind: "data", data: { a: 1 } },
    ];
    const task = await result(endpoint, "message/send", { message: userMessageV03("", { parts }) });
    expect(task.history[0].parts).toEqual(parts);
    const v1 = await result(endpoint, "GetTask", { id: task.id });
    expect(v1.history[0].parts).toEqual([{ text: "echo parts" }, { url: "https://files.example/a.pdf", mediaType: "application/pdf", filename: "a.pdf" }, { data: { a: 1 } }]);
  });

  it("the A2A-Version header decides the shape; an unknown version is -32009", async () => {
    const task = await result(endpoint, "SendMessage", { message: userMessage("echo v") }, { "A2A-Version": "0.3" });
    expect(task).toMatchObject({ kind: "task", status: { state: "completed" } });
    expect(await error(endpoint, "SendMessage", { message: userMessage("echo v") }, { "A2A-Version": "2.0" })).toMatchObject({
      code: -32009,
      message: 'A2A version "2.0" is not supported; this agent speaks 1.0 and 0.3',
    });
  });

  it("returnImmediately answers at once; GetTask and tasks/get follow the task", async () => {
    const { task } = await result(endpoint, "SendMessage", { message: userMessage("slow g1"), configuration: { returnImmediately: true } });
    expect(["TASK_STATE_SUBMITTED", "TASK_STATE_WORKING"]).toContain(task.status.state);
    const { gate } = await import("./desk.ts");
    gate("g1").open();
    for (;;) {
      const got = await result(endpoint, "GetTask", { id: task.id });
      if (got.status.state === "TASK_STATE_COMPLETED") break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const v03 = await result(endpoint, "tasks/get", { id: task.id, historyLength: 0 });
    expect(v03).toMatchObject({ kind: "task", id: task.id, status: { state: "completed" } });
    expect(v03.artifacts[0].parts).toEqual([{ kind: "text", text: "done g1" }]);
  });

  it("historyLength: 0 leaves the history field out (the spec: it SHOULD be omitted); n > 0 keeps the last n messages", async () => {
    const { task } = await result(endpoint, "SendMessage", { message: userMessage("ask") });
    expect(task.history).toHaveLength(2);
    expect("history" in (await result(endpoint, "GetTask", { id: task.id, historyLength: 0 }))).toBe(false);
    expect("history" in (await result(endpoint, "tasks/get", { id: task.id, historyLength: 0 }))).toBe(false);
    expect((await result(endpoint, "GetTask", { id: task.id, historyLength: 1 })).history.map((m: Wire) => m.parts[0].text)).toEqual(["What is your name?"]);
    const answered = await result(endpoint, "SendMessage", { message: userMessage("Ada", { taskId: task.id }), configuration: { historyLength: 0 } });
    expect(answered.task.status.state).toBe("TASK_STATE_COMPLETED");
    expect("history" in answered.task).toBe(false);
    const listed = await result(endpoint, "ListTasks", {});
    expect(listed.tasks.map((t: Wire) => "history" in t)).toEqual([false]);
    expect((await result(endpoint, "ListTasks", { historyLength: 2 })).tasks[0].history).toHaveLength(2);
  });

  it("a failing executor fails the task with its message", async () => {
    const { task } = await result(endpoint, "SendMessage", { message: userMessage("fail") });
    expect(task.status).toMatchObject({ state: "TASK_STATE_FAILED", message: { role: "ROLE_AGENT", parts: [{ text: "boom" }] } });
  });

  it("input-required: the next message on the task resumes the executor waiting for it", async () => {
    const first = (await result(endpoint, "SendMessage", { message: userMessage("ask") })).task;
    expect(first.status).toMatchObject({ state: "TASK_STATE_INPUT_REQUIRED", message: { parts: [{ text: "What is your name?" }] } });
    const second = (await result(endpoint, "SendMessage", { message: userMessage("Ada", { taskId: first.id }) })).task;
    expect(second.id).toBe(first.id);
    expect(second.status.state).toBe("TASK_STATE_COMPLETED");
    expect(second.artifacts[0].parts).toEqual([{ text: "Hello Ada" }]);
    expect(second.history.map((m: Wire) => m.parts[0].text)).toEqual(["ask", "What is your name?", "Ada"]);
    expect(await error(endpoint, "SendMessage", { message: userMessage("again", { taskId: first.id }) })).toMatchObject({
      code: -32004,
      message: `Task "${first.id}" is completed: a task in a terminal state takes no more messages`,
    });
  });

  it("a task waiting for input lets its agent leave memory; the answer then starts the executor again, resumed", async () => {
    const first = (await result(endpoint, "SendMessage", { message: userMessage("ask") })).task;
    expect(first.status.state).toBe("TASK_STATE_INPUT_REQUIRED");
    await harness.host.tasksIdle();
    expect(harness.host.hibernateIdleAgents()).toBe(1);
    expect(harness.host.internals.isLive("Desk", "main")).toBe(false);
    const { calls, endings } = await import("./desk.ts");
    // The waiting execution ended with the agent (its finally blocks ran); the task still waits.
    expect(endings).toEqual(["aborted: The agent left memory while the task waited for input; the next message starts it again"]);
    expect((await result(endpoint, "GetTask", { id: first.id })).status.state).toBe("TASK_STATE_INPUT_REQUIRED");
    const second = (await result(endpoint, "SendMessage", { message: userMessage("Ada", { taskId: first.id }) })).task;
    expect(second.status.state).toBe("TASK_STATE_COMPLETED");
    expect(calls.map((call) => [call.text, call.resumed])).toEqual([
      ["ask", false],
      ["Ada", true],
    ]);
  });

  it("an answer to a task at maxEventsPerTask is refused with the limit named and ends the task; nothing is left waiting", async () => {
    const strict = `${harness.url}/agents/strict-desk/limit`;
    // submitted, working, three progress messages, input-required: six events, the limit.
    const { task } = await result(strict, "SendMessage", { message: userMessage("chatty") });
    expect(task.status.state).toBe("TASK_STATE_INPUT_REQUIRED");
    const reason = `Task ${task.id} reached the limit of 6 events (maxEventsPerTask); it takes no more messages`;
    expect(await error(strict, "SendMessage", { message: userMessage("Ada", { taskId: task.id }) })).toMatchObject({ code: -32004, message: reason });
    const after = await result(strict, "GetTask", { id: task.id });
    expect(after.status).toMatchObject({ state: "TASK_STATE_FAILED", message: { parts: [{ text: reason }] } });
    // The answer was not taken: it is not in the history.
    expect(after.history.map((m: Wire) => m.parts[0].text)).toEqual(["chatty", "And then?", reason]);
  });

  it("a message id already seen returns its task instead of starting another", async () => {
    const message = userMessage("echo once");
    const a = (await result(endpoint, "SendMessage", { message })).task;
    const b = (await result(endpoint, "SendMessage", { message })).task;
    expect(b.id).toBe(a.id);
    const { calls } = await import("./desk.ts");
    expect(calls.filter((call) => call.text === "echo once")).toHaveLength(1);
  });

  it("refuses a message that is not the client's, a task that is not there, and a working task", async () => {
    expect(await error(endpoint, "SendMessage", { message: { ...userMessage("x"), role: "ROLE_AGENT" } })).toMatchObject({
      code: -32602,
      message: "params.message.role must be user: a client speaks as the user",
    });
    expect(await error(endpoint, "SendMessage", { message: { role: "ROLE_USER", parts: [{ text: "x" }] } })).toMatchObject({
      code: -32602,
      message: "params.message.messageId is required (a non-empty string)",
    });
    expect(await error(endpoint, "SendMessage", { message: userMessage("x", { taskId: "nope" }) })).toMatchObject({ code: -32001, message: 'Task "nope" not found' });
    const asking = (await result(endpoint, "SendMessage", { message: userMessage("ask") })).task;
    expect(await error(endpoint, "SendMessage", { message: userMessage("x", { taskId: asking.id, contextId: "other" }) })).toMatchObject({
      code: -32602,
      message: `params.message.contextId "other" is not the context of task "${asking.id}" ("${asking.contextId}")`,
    });
    expect(await error(endpoint, "SendMessage", { message: { ...userMessage("x"), parts: [{ nothing: true }] } })).toMatchObject({
      code: -32602,
      message: "params.message.parts[0] has no text, data, url, raw or file",
    });
    const { task } = await result(endpoint, "SendMessage", { message: userMessage("slow g2"), configuration: { returnImmediately: true } });
    expect(await error(endpoint, "SendMessage", { message: userMessage("more", { taskId: task.id }) })).toMatchObject({
      code: -32004,
      message: `Task "${task.id}" is working: send the next message when it asks for input`,
    });
    const { gate } = await import("./desk.ts");
    gate("g2").open();
  });
});

describe("artifacts and limits of a task", () => {
  it("an appended chunk extends the artifact with the same id; an append without an id fails the task", async () => {
    const { task } = await result(endpoint, "SendMessage", { message: userMessage("chunks") });
    expect(task.artifacts).toEqual([{ artifactId: "story", name: "story", parts: [{ text: "Once " }, { text: "upon a time" }] }]);
    const bad = (await result(endpoint, "SendMessage", { message: userMessage("badappend") })).task;
    expect(bad.status).toMatchObject({
      state: "TASK_STATE_FAILED",
      message: { parts: [{ text: "An artifact update with append: true needs the artifactId of the artifact it extends" }] },
    });
  });

  it("a task past maxEventsPerTask fails with the limit named, keeping what it logged", async () => {
    const { task } = await result(`${harness.url}/agents/strict-desk/s`, "SendMessage", { message: userMessage("many") });
    expect(task.status).toMatchObject({
      state: "TASK_STATE_FAILED",
      message: { parts: [{ text: `Task ${task.id} reached the limit of 6 events (maxEventsPerTask); no more updates are kept` }] },
    });
    expect(task.artifacts).toHaveLength(4);
  });
});

describe("tasks", () => {
  it("ListTasks pages newest first with nextPageToken, filters by context and state", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await result(endpoint, "SendMessage", { message: userMessage(`echo ${i}`, { contextId: i < 3 ? "c1" : "c2" }) })).task.id);
    const first = await result(endpoint, "ListTasks", { pageSize: 2 });
    expect(first.tasks.map((t: Wire) => t.id)).toEqual([ids[4], ids[3]]);
    expect(first).toMatchObject({ pageSize: 2, totalSize: 5 });
    expect(first.tasks[0].artifacts).toBeUndefined();
    const second = await result(endpoint, "ListTasks", { pageSize: 2, pageToken: first.nextPageToken });
    const third = await result(endpoint, "ListTasks", { pageSize: 2, pageToken: second.nextPageToken });
    expect([...second.tasks, ...third.tasks].map((t: Wire) => t.id)).toEqual([ids[2], ids[1], ids[0]]);
    expect(third.nextPageToken).toBe("");
    const c1 = await result(endpoint, "tasks/list", { contextId: "c1", includeArtifacts: true });
    expect(c1.tasks).toHaveLength(3);
    expect(c1.tasks[0]).toMatchObject({ kind: "task", status: { state: "completed" } });
    expect(c1.tasks[0].artifacts).toHaveLength(1);
    expect((await result(endpoint, "ListTasks", { status: "TASK_STATE_FAILED" })).tasks).toEqual([]);
    // What a proto3 serialiser sends for fields not set filters nothing.
    const unset = await result(endpoint, "ListTasks", { status: "TASK_STATE_UNSPECIFIED", contextId: "", pageToken: "" });
    expect(unset.tasks.map((t: Wire) => t.id)).toEqual([...ids].reverse());
    expect(await error(endpoint, "ListTasks", { pageSize: 101 })).toMatchObject({ code: -32602, message: "params.pageSize must be between 1 and 100 (maxPageSize), got 101" });
    expect(await error(endpoint, "ListTasks", { pageToken: "garbage" })).toMatchObject({
      code: -32602,
      message: "params.pageToken is not a token this agent gave (use nextPageToken from the previous page)",
    });
  });

  it("CancelTask cancels a running task (its executor's signal aborts); a terminal task is -32002", async () => {
    const { task } = await result(endpoint, "SendMessage", { message: userMessage("hang"), configuration: { returnImmediately: true } });
    const canceled = await result(endpoint, "CancelTask", { id: task.id });
    expect(canceled.status.state).toBe("TASK_STATE_CANCELED");
    expect(await error(endpoint, "tasks/cancel", { id: task.id })).toMatchObject({
      code: -32002,
      message: `Task "${task.id}" is canceled: a task in a terminal state cannot be canceled`,
    });
    expect(await error(endpoint, "CancelTask", { id: "missing" })).toMatchObject({ code: -32001 });
    expect((await result(endpoint, "GetTask", { id: task.id })).status.state).toBe("TASK_STATE_CANCELED");
  });
});

describe("JSON-RPC errors and limits", () => {
  const post = (body: string, headers: Record<string, string> = { "content-type": "application/json" }) => fetch(endpoint, { method: "POST", headers, body });

  it("bad JSON is -32700, a batch or a non-request -32600, an unknown method -32601, bad params -32602", async () => {
    const parse = await post("{not json");
    expect(parse.status).toBe(200);
    expect(((await parse.json()) as Wire).error).toMatchObject({ code: -32700, message: expect.stringMatching(/^Parse error: /) });
    expect(((await (await post("[]")).json()) as Wire).error).toMatchObject({ code: -32600, message: "Batch requests are not supported: send one JSON-RPC request per HTTP request" });
    expect(((await (await post('{"jsonrpc":"1.0","id":1,"method":"GetTask"}')).json()) as Wire).error).toMatchObject({
      code: -32600,
      message: 'Invalid request: a JSON-RPC 2.0 request object with "jsonrpc": "2.0" is expected',
    });
    expect(((await (await post('{"jsonrpc":"2.0","method":"GetTask"}')).json()) as Wire).error).toMatchObject({
      code: -32600,
      message: "Invalid request: id must be a string or a number (notifications are not supported)",
    });
    expect(await error(endpoint, "tasks/send")).toMatchObject({ code: -32601, message: "Method not found: tasks/send" });
    expect(await error(endpoint, "GetTask", { id: 7 })).toMatchObject({ code: -32602, message: "params.id is required (a non-empty string)" });
    const { body } = await rpc(endpoint, "GetTask", undefined);
    expect(body.error).toMatchObject({ code: -32602 });
    expect(((await (await post('{"jsonrpc":"2.0","id":1,"method":"GetTask","params":[1]}')).json()) as Wire).error).toEqual({ code: -32602, message: "params must be an object" });
  });

  it("a body over maxBodyBytes is HTTP 413 with a JSON-RPC error naming the limit; nothing is stored", async () => {
    const big = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "SendMessage", params: { message: userMessage(`echo ${"x".repeat(70_000)}`) } });
    const response = await post(big);
    expect(response.status).toBe(413);
    expect(((await response.json()) as Wire).error).toEqual({ code: -32600, message: "Request body exceeds the limit of 65536 bytes (maxBodyBytes)" });
    // Without a declared length (chunked), the body is read up to the limit and no further.
    const chunked = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(big));
          controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect((await result(endpoint, "ListTasks", {})).totalSize).toBe(0);
  });

  it("a body that is not application/json is HTTP 415; GET on the endpoint is 405", async () => {
    const response = await post("{}", { "content-type": "text/plain" });
    expect(response.status).toBe(415);
    expect(((await response.json()) as Wire).error).toEqual({ code: -32600, message: 'Content-Type must be application/json, got "text/plain"' });
    const get = await fetch(endpoint);
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    expect(await get.json()).toEqual({ error: "Method not allowed here; use POST" });
  });

  it("the authenticate hook answers 401 unless it lets the request in; the card stays public", async () => {
    const guarded = `${harness.url}/agents/guarded-desk/g`;
    const refused = await rpc(guarded, "GetTask", { id: "x" });
    expect(refused.status).toBe(401);
    expect(refused.body.error).toEqual({ code: -32000, message: "Unauthorized: this agent's authenticate hook refused the request" });
    expect(await error(guarded, "GetTask", { id: "x" }, { authorization: "Bearer sesame" })).toMatchObject({ code: -32001 });
    expect((await fetch(`${guarded}/.well-known/agent-card.json`)).status).toBe(200);
    expect(await error(guarded, "CreateTaskPushNotificationConfig", { taskId: "x", url: "https://example.com/hook" }, { authorization: "Bearer sesame" })).toEqual({
      code: -32003,
      message: "This agent does not send push notifications",
    });
  });
});

describe("options", () => {
  it("a fixed basePath serves there and answers 404 elsewhere", async () => {
    const base = `${harness.url}/agents/routed-desk/r/a2a`;
    expect((await result(base, "SendMessage", { message: userMessage("echo routed") })).task.status.state).toBe("TASK_STATE_COMPLETED");
    expect(((await (await fetch(`${base}/.well-known/agent-card.json`)).json()) as Wire).url).toBe(base);
    const elsewhere = await fetch(`${harness.url}/agents/routed-desk/r/other`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(elsewhere.status).toBe(404);
    expect(await elsewhere.json()).toEqual({ error: "No A2A endpoint at /agents/routed-desk/r/other (it is at /agents/routed-desk/r/a2a)" });
  });

  it("a card asked for under the endpoint's parent (a client given the endpoint without a trailing slash) is a 404 that says so", async () => {
    const response = await fetch(`${harness.url}/agents/desk/.well-known/agent-card.json`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as Wire).error).toBe(
      'No A2A agent card at /agents/desk/.well-known/agent-card.json: this path names an agent called ".well-known". Give the client the card\'s URL (<endpoint>/.well-known/agent-card.json), or the endpoint ending with "/"',
    );
  });

  it("are checked: executor, card, onInterrupted, basePath, push timeout, limits", () => {
    const card = { name: "x", description: "y" };
    const executor = () => undefined;
    expect(() => resolveServerOptions({ card } as never)).toThrow("handleA2ARequest needs an executor function");
    expect(() => resolveServerOptions({ executor } as never)).toThrow("handleA2ARequest needs a card ({ name, description, … })");
    expect(() => resolveServerOptions({ card, executor, onInterrupted: "retry" as never })).toThrow('onInterrupted must be "resume" or "fail", got "retry"');
    expect(() => resolveServerOptions({ card, executor, basePath: "a2a" })).toThrow('basePath must start with "/", got "a2a"');
    expect(() => resolveServerOptions({ card, executor, pushNotifications: { timeoutMs: 0 } })).toThrow("pushNotifications.timeoutMs must be a positive integer, got 0");
    expect(() => resolveServerOptions({ card, executor, limits: { maxBodyBytes: -1 } })).toThrow("A2A limit maxBodyBytes must be a positive integer, got -1");
    const facts = { url: "https://a.example/a2a", pushNotifications: false, extendedAgentCard: false };
    expect(() => buildCard({ name: "", description: "y" }, facts)).toThrow("The A2A card needs a name");
    expect(() => buildCard({ name: "x" } as never, facts)).toThrow("The A2A card needs a description");
  });
});
