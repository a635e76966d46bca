/**
 * Agent tools: a parent chat agent's turn runs a child chat agent (a sub-agent with its own
 * SQLite) as a tool; its stream reaches the parent's clients as `agent-tool-event` frames and the
 * parent's run registry, is replayed to a client that reconnects, and stops when the turn does.
 */
import type { UIMessage } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { z } from "zod";
import { agentTool, createDemoModel, DEMO_NOTICE, type AgentToolEventMessage } from "../../src/chat/index.ts";
import type { TestEnv } from "../../src/testing/index.ts";
import { INTERRUPTED_CHILD_RUN } from "../../src/chat/agent-tool-child.ts";
import { Parent, Researcher, resetTools, tools, toolsEnv } from "./agent-tool-fixture.ts";
import { ChatClient, Gate, scriptedModel, textStream, toolCallStream, until, userMessage, type Frame } from "./helpers.ts";

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

function toolEvents(frames: Array<Frame | string>): AgentToolEventMessage[] {
  return frames.filter((f): f is Frame => typeof f === "object" && f.type === "agent-tool-event") as unknown as AgentToolEventMessage[];
}

function textOfChunks(events: AgentToolEventMessage[]): string {
  return events
    .flatMap((e) => (e.event.kind === "chunk" ? [JSON.parse(e.event.body) as { type: string; delta?: string }] : []))
    .filter((chunk) => chunk.type === "text-delta")
    .map((chunk) => chunk.delta)
    .join("");
}

/** The parent calls `research` once, then answers with the tool's result. */
function researchOnce(childText: string) {
  const parentModel = scriptedModel(toolCallStream("call-1", "research", { query: "HTTP/3" }), textStream("Here is what I found."));
  resetTools(parentModel, scriptedModel(textStream(childText)));
  return parentModel;
}

describe("agentTool in a parent's turn", () => {
  test("runs the child as a sub-agent, streams its chunks as agent-tool-event frames and gives the model its summary", async () => {
    const parentModel = researchOnce("HTTP/3 runs over QUIC");
    let ws: string;
    ({ t, ws } = await toolsEnv());
    const client = await ChatClient.open(ws, "p1", "", "parent");
    const id = client.send([userMessage("u1", "research HTTP/3")]);
    expect(await client.done(id)).toMatchObject({ outcome: "completed" });

    const events = toolEvents(client.frames);
    expect(events[0]).toEqual({
      type: "agent-tool-event",
      parentToolCallId: "call-1",
      sequence: 0,
      event: { kind: "started", runId: "agent-tool:call-1", agentType: "Researcher", order: 0, inputPreview: '{"query":"HTTP/3"}', display: { name: "Researcher" } },
    });
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i));
    expect(events.slice(1, -1).every((e) => e.event.kind === "chunk")).toBe(true);
    expect(textOfChunks(events)).toBe("HTTP/3 runs over QUIC");
    expect(events.at(-1)!.event).toEqual({ kind: "finished", runId: "agent-tool:call-1", summary: "HTTP/3 runs over QUIC" });

    // The parent model got the child's summary as the tool's result.
    const toolMessage = parentModel.prompts[1]!.find((m) => m.role === "tool")!;
    expect(JSON.stringify(toolMessage.content)).toContain("HTTP/3 runs over QUIC");

    const parent = t.get<Parent>("Parent", "p1");
    expect(await parent.runs()).toEqual([
      { run_id: "agent-tool:call-1", agent_type: "Researcher", status: "completed", summary: "HTTP/3 runs over QUIC", error_message: null, interrupted_reason: null },
    ]);
    expect(await parent.children()).toEqual(["Researcher/agent-tool:call-1"]);
    expect(await parent.has("Researcher", "agent-tool:call-1")).toBe(true);
    expect(await parent.has("Researcher", "agent-tool:other")).toBe(false);
    const childHistory = await parent.childHistory("agent-tool:call-1");
    expect(childHistory.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(childHistory[0]!.parts[0]).toMatchObject({ type: "text", text: "Research: HTTP/3" });
    expect(await parent.inspectChild("agent-tool:call-1")).toMatchObject({ status: "completed", summary: "HTTP/3 runs over QUIC", output: "HTTP/3 runs over QUIC" });
    expect(tools.started.map((r) => r.runId)).toEqual(["agent-tool:call-1"]);
    expect(tools.finished[0]!.result).toMatchObject({ status: "completed", summary: "HTTP/3 runs over QUIC" });
    client.close();
  });

  test("a client that reconnects gets the run replayed from the registry, with the live sequences", async () => {
    researchOnce("Replay me please");
    let ws: string;
    ({ t, ws } = await toolsEnv());
    const first = await ChatClient.open(ws, "p2", "", "parent");
    await first.done(first.send([userMessage("u1", "research HTTP/3")]));
    const live = toolEvents(first.frames);
    first.close();

    const second = await ChatClient.open(ws, "p2", "", "parent");
    await until(() => toolEvents(second.frames).length === live.length, "the replay");
    const replayed = toolEvents(second.frames);
    expect(replayed.every((e) => e.replay === true)).toBe(true);
    expect(replayed.map(({ replay: _replay, ...rest }) => rest)).toEqual(live);
    second.close();
  });

  test("cancelling the parent's turn cancels the child's run", async () => {
    const gate = new Gate();
    resetTools(scriptedModel(toolCallStream("call-9", "research", { query: "slow" }), textStream("never")), scriptedModel(gate.stream));
    let ws: string;
    ({ t, ws } = await toolsEnv());
    const client = await ChatClient.open(ws, "p3", "", "parent");
    const id = client.send([userMessage("u1", "research slowly")]);
    gate.text("Partial ");
    await until(() => textOfChunks(toolEvents(client.frames)) === "Partial ", "the child's first words");
    client.socket.send({ type: "cf_agent_chat_request_cancel", id });
    expect(await client.done(id)).toMatchObject({ outcome: "aborted" });
    await until(() => toolEvents(client.frames).some((e) => e.event.kind === "aborted"), "the run's end");
    expect(toolEvents(client.frames).at(-1)!.event).toMatchObject({ kind: "aborted", runId: "agent-tool:call-9" });

    const parent = t.get<Parent>("Parent", "p3");
    await until(async () => (await parent.runs())[0]?.status === "aborted", "the aborted run");
    expect(await parent.inspectChild("agent-tool:call-9")).toMatchObject({ status: "aborted" });
    const child = await parent.childHistory("agent-tool:call-9");
    expect(child.at(-1)!.parts.find((p) => p.type === "text")).toMatchObject({ text: "Partial " });
    client.close();
  });
});

describe("agent tools on the offline demo model", () => {
  test("the parent's demo model delegates to the child by name and answers with the child's summary", async () => {
    resetTools(createDemoModel({ wordDelayMs: 0 }), createDemoModel({ wordDelayMs: 0 }));
    let ws: string;
    ({ t, ws } = await toolsEnv());
    const client = await ChatClient.open(ws, "demo", "", "parent");
    await client.done(client.send([userMessage("u1", 'Please research "solar sails"')]));
    const events = toolEvents(client.frames);
    expect(events[0]!.event).toMatchObject({ kind: "started", inputPreview: '{"query":"solar sails"}' });
    const summary = `${DEMO_NOTICE} You said: "Research: solar sails".`;
    expect(events.at(-1)!.event).toMatchObject({ kind: "finished", summary });
    const history = await t.get<Parent>("Parent", "demo").history();
    const text = history[1]!.parts.filter((p) => p.type === "text").map((p) => (p as { text: string }).text).join("");
    expect(text).toBe(`${DEMO_NOTICE} The research tool says: ${summary}`);
    client.close();
  });
});

describe("runAgentTool", () => {
  test("is idempotent by run id: the same id returns the first run's end without a second child turn", async () => {
    const childModel = scriptedModel(textStream("gRPC uses HTTP/2"));
    resetTools(scriptedModel(textStream("unused")), childModel);
    ({ t } = await toolsEnv());
    const parent = t.get<Parent>("Parent", "p4");
    const first = await parent.research("gRPC", "r-1");
    expect(first).toEqual({ runId: "r-1", agentType: "Researcher", status: "completed", output: "gRPC uses HTTP/2", summary: "gRPC uses HTTP/2" });
    expect(await parent.research("gRPC", "r-1")).toEqual(first);
    expect(childModel.prompts.length).toBe(1);
    expect(await parent.childChunks("r-1")).toEqual(expect.arrayContaining([expect.objectContaining({ sequence: 0 })]));
  });

  test("returns the child's structured output from getAgentToolOutput", async () => {
    resetTools(scriptedModel(textStream("unused")), scriptedModel(textStream("rows extracted")));
    ({ t } = await toolsEnv());
    const result = await t.get<Parent>("Parent", "p5").runWith("Extractor", { input: { query: "x" }, runId: "e-1" });
    expect(result).toMatchObject({ status: "completed", output: { runId: "e-1", messages: 2 }, summary: '{"runId":"e-1","messages":2}' });
  });

  test("a child whose model fails ends the run with error, and the tool returns a structured failure", async () => {
    const failing = new MockLanguageModelV4({
      doStream: async () => {
        throw new Error("model down");
      },
    });
    const parentModel = scriptedModel(toolCallStream("call-2", "research", { query: "x" }), textStream("It failed."));
    resetTools(parentModel, failing);
    let ws: string;
    ({ t, ws } = await toolsEnv());
    const client = await ChatClient.open(ws, "p6", "", "parent");
    await client.done(client.send([userMessage("u1", "research x")]));
    expect(toolEvents(client.frames).at(-1)!.event).toMatchObject({ kind: "error", runId: "agent-tool:call-2" });
    const history = await t.get<Parent>("Parent", "p6").history();
    const part = history[1]!.parts.find((p) => p.type === "tool-research") as { output?: unknown } | undefined;
    expect(part?.output).toMatchObject({ ok: false, status: "error", retryable: false });
    client.close();
  });

  test("cancelAgentTool stops a live run (idempotent), and clearAgentToolRuns deletes runs and their children", async () => {
    const gate = new Gate();
    resetTools(scriptedModel(textStream("unused")), scriptedModel(textStream("done"), gate.stream));
    ({ t } = await toolsEnv());
    const parent = t.get<Parent>("Parent", "p7");
    await parent.research("a", "r-a");
    const live = parent.research("b", "r-b");
    gate.text("Going ");
    await until(async () => (await parent.runs())[1]?.status === "running" && (await parent.childChunks("r-b")).length > 2, "the second run streaming");
    await parent.cancel("r-b");
    expect(await live).toEqual({ runId: "r-b", agentType: "Researcher", status: "aborted", error: "stop it" });
    await parent.cancel("r-b");
    await parent.cancel("r-a"); // ended already: nothing changes
    expect((await parent.runs()).map((r) => r.status)).toEqual(["completed", "aborted"]);
    expect(tools.finished.map((f) => f.result.status)).toEqual(["completed", "aborted"]);

    await parent.clear({ status: ["error"] });
    expect((await parent.runs()).length).toBe(2);
    await parent.clear({ olderThan: 0 });
    expect((await parent.runs()).length).toBe(2);
    await parent.clear({ status: ["aborted"] });
    expect((await parent.runs()).map((r) => r.run_id)).toEqual(["r-a"]);
    await parent.clear();
    expect(await parent.runs()).toEqual([]);
    expect(await parent.children()).toEqual([]);
    expect(await parent.has("Researcher", "r-a")).toBe(false);
  });

  test("refuses what it cannot run, with errors that name the problem", async () => {
    resetTools(scriptedModel(textStream("unused")), scriptedModel(textStream("done")));
    ({ t } = await toolsEnv());
    const parent = t.get<Parent>("Parent", "p8");
    await expect(parent.runWith("Notes", { input: 1 })).rejects.toThrow("runAgentTool: Notes is not a chat agent; an agent tool's child must extend AIChatAgent");
    await expect(parent.runWith("Nope", { input: 1 })).rejects.toThrow("runAgentTool: Nope is not an agent class of this worker");
    await expect(parent.runWith("Researcher", { input: 1, detached: true })).rejects.toThrow("runAgentTool: detached runs are not supported on Hearth");
    await expect(parent.runWith("Researcher", { input: 1, runId: "x".repeat(300) })).rejects.toThrow(
      'runAgentTool: runId is 300 characters; with the class name "Researcher" it makes a facet name of 311, over the limit of 256 (maxFacetNameLength)',
    );
    await expect(parent.runWith("Researcher", { input: 1, runId: "" })).rejects.toThrow("runAgentTool: runId must be a non-empty string");
    await expect(parent.clear({ olderThan: "yesterday" as unknown as number })).rejects.toThrow("clearAgentToolRuns: olderThan must be epoch milliseconds");
    await expect(parent.clear({ status: "completed" as unknown as [] })).rejects.toThrow("clearAgentToolRuns: status must be an array of run states");
    expect(await parent.runs()).toEqual([]);

    const capped = await t.get<Parent>("CappedParent", "c1").research("a", "r-1");
    expect(capped).toEqual({ runId: "r-1", agentType: "Researcher", status: "error", error: "maxConcurrentAgentTools (0) exceeded" });
  });
});

describe("agentTool outside a turn and the child API", () => {
  test("agentTool's options are checked, and its call needs a chat agent's turn", async () => {
    expect(() => agentTool(Researcher, { description: "", inputSchema: z.object({}) })).toThrow("agentTool: options.description must be a non-empty string");
    expect(() => agentTool(Researcher, { description: "x" } as never)).toThrow("agentTool: options.inputSchema is required");
    expect(() => agentTool(Researcher, null as never)).toThrow("agentTool: pass { description, inputSchema } as the second argument");
    const research = agentTool(Researcher, { description: "Research.", inputSchema: z.object({ query: z.string() }) });
    await expect(Promise.resolve(research.execute!({ query: "x" }, { toolCallId: "t", messages: [], context: {} }))).rejects.toThrow(
      "agentTool() can only run inside a chat agent's turn",
    );
  });

  test("a child run started directly is pulled to its end; bad arguments are refused", async () => {
    resetTools(scriptedModel(textStream("unused")), scriptedModel(textStream("alone and fine")));
    ({ t } = await toolsEnv());
    const child = t.get<Researcher>("Researcher", "solo");
    expect(await child.startAgentToolRun({ query: "q" }, { runId: "s-1" })).toMatchObject({ runId: "s-1", status: "running" });
    const bodies: string[] = [];
    let after = -1;
    for (;;) {
      const pulled = await child.pullAgentToolChunks("s-1", { afterSequence: after });
      bodies.push(...pulled.chunks.map((c) => c.body));
      after = pulled.chunks.at(-1)?.sequence ?? after;
      if (pulled.done) break;
    }
    expect(bodies.map((b) => JSON.parse(b) as { type: string }).some((c) => c.type === "text-delta")).toBe(true);
    expect(await child.inspectAgentToolRun("s-1")).toMatchObject({ status: "completed", summary: "alone and fine" });
    expect(await child.inspectAgentToolRun("nope")).toBeNull();
    expect(await child.pullAgentToolChunks("nope")).toEqual({ chunks: [], status: "missing", done: true });
    await expect(child.pullAgentToolChunks("s-1", { waitMs: 120_000 })).rejects.toThrow("pullAgentToolChunks: waitMs must be 0-60000 ms (maxPullWaitMs), got 120000");
    await expect(child.startAgentToolRun({}, { runId: "" })).rejects.toThrow("startAgentToolRun: options.runId must be a non-empty string");
    const history = (await child.history()) as UIMessage[];
    expect(history.map((m) => m.role)).toEqual(["user", "assistant"]);
  });
});

describe("replay, restarts and the chat turn's scope", () => {
  test("agentToolReplayOnConnect caps the replay to the newest runs and their last chunks, sequences unchanged", async () => {
    resetTools(scriptedModel(textStream("unused")), scriptedModel(textStream("one two three four five")));
    let ws: string;
    ({ t, ws } = await toolsEnv());
    const parent = t.get<Parent>("ReplayCappedParent", "rc");
    await parent.research("first", "r-1");
    await parent.research("second", "r-2");
    const chunks = (await parent.childChunks("r-2")).length;
    const client = await ChatClient.open(ws, "rc", "", "replay-capped-parent");
    await until(() => toolEvents(client.frames).some((e) => e.event.kind === "finished"), "the replay");
    const replayed = toolEvents(client.frames);
    expect(replayed.map((e) => [e.event.runId, e.event.kind, e.sequence])).toEqual([
      ["r-2", "started", 0],
      ["r-2", "chunk", chunks - 1],
      ["r-2", "chunk", chunks],
      ["r-2", "finished", chunks + 1],
    ]);
    client.close();
  });

  test("a bad agentToolReplayOnConnect fails the agent's start, naming the option", async () => {
    resetTools(scriptedModel(textStream("unused")), scriptedModel(textStream("unused")));
    ({ t } = await toolsEnv());
    await expect(t.get<Parent>("BadReplayParent", "b").has("Researcher", "x")).rejects.toThrow(
      "BadReplayParent.options.agentToolReplayOnConnect.maxRuns must be a whole number >= 0, got -1",
    );
  });

  test("a run a restart cut short ends interrupted (retryable), and is not run again", async () => {
    const gate = new Gate();
    const childModel = scriptedModel(gate.stream);
    resetTools(scriptedModel(toolCallStream("call-r", "research", { query: "slow" }), textStream("unused")), childModel);
    let ws: string;
    ({ t, ws } = await toolsEnv());
    const first = await ChatClient.open(ws, "p9", "", "parent");
    first.send([userMessage("u1", "research slowly")]);
    gate.text("Half ");
    await until(() => textOfChunks(toolEvents(first.frames)) === "Half ", "the child streaming");
    await t.restart();

    const parent = t.get<Parent>("Parent", "p9");
    await until(async () => (await parent.runs())[0]?.status === "interrupted", "the interrupted run");
    expect((await parent.runs())[0]).toMatchObject({ run_id: "agent-tool:call-r", interrupted_reason: "not-tailable" });
    expect(await parent.inspectChild("agent-tool:call-r")).toMatchObject({ status: "error", error: INTERRUPTED_CHILD_RUN });
    const again = await parent.research("slow", "agent-tool:call-r");
    expect(again).toMatchObject({ status: "interrupted", reason: "not-tailable", childStillRunning: false });
    expect(childModel.prompts.length).toBe(1);

    ws = (await t.url()).replace(/^http/, "ws");
    const client = await ChatClient.open(ws, "p9", "", "parent");
    await until(() => toolEvents(client.frames).some((e) => e.event.kind === "interrupted"), "the replayed end");
    const replayed = toolEvents(client.frames);
    expect(textOfChunks(replayed)).toBe("Half ");
    expect(replayed.at(-1)).toMatchObject({
      replay: true,
      event: { kind: "interrupted", runId: "agent-tool:call-r", reason: "not-tailable", childStillRunning: false },
    });
    client.close();
  });

  test("a run whose child cannot be reached after a restart ends interrupted with inspect-failed", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-agent-tools-"));
    try {
      const gate = new Gate();
      resetTools(scriptedModel(toolCallStream("call-x", "research", { query: "gone" }), textStream("unused")), scriptedModel(gate.stream));
      let ws: string;
      ({ t, ws } = await toolsEnv(dataDir));
      const client = await ChatClient.open(ws, "p11", "", "parent");
      client.send([userMessage("u1", "research something")]);
      gate.text("Some ");
      await until(() => textOfChunks(toolEvents(client.frames)) === "Some ", "the child streaming");
      await t.close();
      // The next version of the worker no longer has the child's class.
      ({ t } = await toolsEnv(dataDir, { Parent }));
      const parent = t.get<Parent>("Parent", "p11");
      await until(async () => (await parent.runs())[0]?.status === "interrupted", "the interrupted run");
      expect((await parent.runs())[0]).toMatchObject({ interrupted_reason: "inspect-failed" });
      expect(String((await parent.runs())[0]!.error_message)).toMatch(/^The child could not be reached: /);
    } finally {
      await t?.close();
      t = undefined;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test("a child whose chat is cleared during a run ends it with error", async () => {
    const gate = new Gate();
    resetTools(scriptedModel(textStream("unused")), scriptedModel(gate.stream));
    ({ t } = await toolsEnv());
    const child = t.get<Researcher>("Researcher", "cleared");
    await child.startAgentToolRun({ query: "q" }, { runId: "c-1" });
    gate.text("Start ");
    await until(async () => (await child.getAgentToolChunks("c-1")).length > 2, "the run streaming");
    await child.clearChat();
    await until(async () => (await child.inspectAgentToolRun("c-1"))?.status !== "running", "the run's end");
    expect(await child.inspectAgentToolRun("c-1")).toMatchObject({ status: "error", error: "Agent tool run was skipped because the chat was cleared." });
  });

  test("a chat turn's tools see the agent and the requesting client in getCurrentAgent()", async () => {
    resetTools(scriptedModel(toolCallStream("call-w", "whoami", {}), textStream("ok")), scriptedModel(textStream("unused")));
    let ws: string;
    ({ t, ws } = await toolsEnv());
    const client = await ChatClient.open(ws, "p10", "", "parent");
    await client.done(client.send([userMessage("u1", "who are you")]));
    const history = await t.get<Parent>("Parent", "p10").history();
    const part = history[1]!.parts.find((p) => p.type === "tool-whoami") as { output?: unknown } | undefined;
    expect(part?.output).toEqual({ name: "p10", client: true });
    client.close();
  });
});
