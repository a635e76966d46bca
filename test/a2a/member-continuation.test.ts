/**
 * a2aMember against a remote A2A server (plain HTTP on loopback, speaking v1.0 JSON-RPC) whose stream
 * for a message continuing a task opens with the task as it was before that message: still
 * `input-required`, as A2A allows (the first event of a stream is the Task in its current state).
 * The member must wait for what follows, not take that snapshot for the answer.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { a2aMember, type A2AMessage } from "../../src/a2a/index.ts";
import type { MemberCallContext, MemberEvent } from "../../src/teams/member.ts";

type Json = Record<string, unknown>;

const TASK_ID = "trip-1";
const CONTEXT_ID = "ctx-1";

/** What the remote agent sends after the stream's first frame, once released. */
type Step = { statusUpdate: { state: string; question?: string } } | { artifactUpdate: { text: string } };

/**
 * A remote agent with one task. A streamed message gets the task as it is now, then `steps` once
 * the test releases them, each applied to the task before it is sent; GetTask answers the task as
 * it is when asked.
 */
class ScriptedAgent {
  readonly requests: Array<{ method: string; params: Json }> = [];
  readonly #server = http.createServer((request, response) => void this.#handle(request, response));
  #task: Json;
  #steps: Step[];
  #release!: () => void;
  readonly #released = new Promise<void>((resolve) => (this.#release = resolve));
  /** Whether the stream ends right after its first frame (a new task waiting for input at once). */
  readonly #closeAfterFirst: boolean;

  constructor(options: { state: string; question: string; steps: Step[]; closeAfterFirst?: boolean }) {
    this.#task = { id: TASK_ID, contextId: CONTEXT_ID, status: status(options.state, options.question), artifacts: [], history: [] };
    this.#steps = options.steps;
    this.#closeAfterFirst = options.closeAfterFirst ?? false;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Lets the stream go on past its first frame. */
  release(): void {
    this.#release();
  }

  close(): Promise<void> {
    this.#release();
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    let body = "";
    for await (const chunk of request) body += String(chunk);
    const { id, method, params } = JSON.parse(body) as { id: number; method: string; params: Json };
    this.requests.push({ method, params });
    const answer = (result: unknown) => `data: ${JSON.stringify({ jsonrpc: "2.0", id, result })}\n\n`;
    if (method === "GetTask") {
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id, result: this.#task }));
      return;
    }
    if (method !== "SendStreamingMessage") {
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id, error: { code: -32601, message: "Method not found" } }));
      return;
    }
    response.writeHead(200, { "content-type": "text/event-stream" });
    response.write(answer({ task: this.#task }));
    if (this.#closeAfterFirst) return void response.end();
    await this.#released;
    for (const step of this.#steps) response.write(answer(this.#apply(step)));
    response.end();
  }

  /** Moves the task by one step and returns the stream item telling it. */
  #apply(step: Step): Json {
    const ids = { taskId: TASK_ID, contextId: CONTEXT_ID };
    if ("artifactUpdate" in step) {
      const artifact = { artifactId: "answer", parts: [{ text: step.artifactUpdate.text }] };
      this.#task = { ...this.#task, artifacts: [artifact] };
      return { artifactUpdate: { ...ids, artifact } };
    }
    const next = status(step.statusUpdate.state, step.statusUpdate.question);
    this.#task = { ...this.#task, status: next };
    return { statusUpdate: { ...ids, status: next } };
  }
}

function status(state: string, question?: string): Json {
  const message = question === undefined ? {} : { message: { messageId: `q-${question}`, role: "ROLE_AGENT", parts: [{ text: question }] } };
  return { state, ...message, timestamp: new Date(0).toISOString() };
}

/** A call's context whose `firstEvent` settles when the member reports its first event. */
function callContext(key: string): MemberCallContext & { events: MemberEvent[]; firstEvent: Promise<void> } {
  const events: MemberEvent[] = [];
  let first!: () => void;
  const firstEvent = new Promise<void>((resolve) => (first = resolve));
  const emit = (event: MemberEvent) => {
    events.push(event);
    first();
  };
  return { runId: "run-1", team: "desk", path: "desk", idempotencyKey: key, signal: new AbortController().signal, owner: {}, events, firstEvent, emit };
}

/** The states and artifacts the member reported to the run, in order. */
function reported(events: MemberEvent[]): string[] {
  return events.map((event) => (event.type === "artifact" ? "artifact" : String((event.data as { state: string }).state)));
}

const answer: A2AMessage = { messageId: "", role: "user", parts: [{ text: "Tuesday" }], taskId: TASK_ID, contextId: CONTEXT_ID };

let agent: ScriptedAgent | undefined;
afterEach(async () => {
  await agent?.close();
  agent = undefined;
});

async function start(options: ConstructorParameters<typeof ScriptedAgent>[0]): Promise<{ agent: ScriptedAgent; url: string }> {
  agent = new ScriptedAgent(options);
  return { agent, url: await agent.listen() };
}

describe("a2aMember continuing a task that asked for input", () => {
  it("waits past a first task frame still input-required, to the completed answer", async () => {
    const { agent, url } = await start({
      state: "TASK_STATE_INPUT_REQUIRED",
      question: "Which day?",
      steps: [{ statusUpdate: { state: "TASK_STATE_WORKING" } }, { artifactUpdate: { text: "Booked for Tuesday" } }, { statusUpdate: { state: "TASK_STATE_COMPLETED" } }],
    });
    const context = callContext("key-continue");
    const call = a2aMember({ url, name: "travel" }).call(answer, context);
    await context.firstEvent;
    agent.release();
    const { output } = await call;
    expect(output).toMatchObject({ taskId: TASK_ID, state: "completed", text: "Booked for Tuesday" });
    expect(reported(context.events)).toEqual(["input-required", "working", "artifact", "completed"]);
    expect(agent.requests.map((request) => request.method)).toEqual(["SendStreamingMessage", "GetTask"]);
    expect(agent.requests[0]!.params.message).toMatchObject({ messageId: "key-continue", taskId: TASK_ID, parts: [{ text: "Tuesday" }] });
  });

  it("returns the agent's next question once the answer was taken up, not the one it answered", async () => {
    const { agent, url } = await start({
      state: "TASK_STATE_INPUT_REQUIRED",
      question: "Which day?",
      steps: [{ statusUpdate: { state: "TASK_STATE_WORKING" } }, { statusUpdate: { state: "TASK_STATE_INPUT_REQUIRED", question: "Morning or evening?" } }],
    });
    const context = callContext("key-next-question");
    const call = a2aMember({ url, name: "travel" }).call(answer, context);
    await context.firstEvent;
    agent.release();
    const { output } = await call;
    expect(output).toMatchObject({ state: "input-required", text: "Morning or evening?" });
    expect(reported(context.events)).toEqual(["input-required", "working", "input-required"]);
  });

  it("a new task whose stream opens waiting for input still ends there", async () => {
    const { agent, url } = await start({ state: "TASK_STATE_INPUT_REQUIRED", question: "Which day?", steps: [], closeAfterFirst: true });
    const context = callContext("key-new");
    const { output } = await a2aMember({ url, name: "travel" }).call("Book me a trip", context);
    expect(output).toMatchObject({ state: "input-required", text: "Which day?" });
    expect(reported(context.events)).toEqual(["input-required"]);
    expect(agent.requests.map((request) => request.method)).toEqual(["SendStreamingMessage", "GetTask"]);
  });
});
