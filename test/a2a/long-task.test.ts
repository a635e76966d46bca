/**
 * Long tasks: many appended artifact chunks and progress messages. Each emit must cost about the size
 * of what it reports, not of the task so far (a 10,000-chunk stream was quadratic), and every read
 * must still see the task as the events made it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Agent } from "../../src/index.ts";
import { handleA2ARequest, type A2AExecutor } from "../../src/a2a/index.ts";
import { A2ATaskStore, type LoggedEvent } from "../../src/a2a/store.ts";
import { STREAM_PAGE_EVENTS } from "../../src/a2a/task-stream.ts";
import type { A2ATask } from "../../src/a2a/types.ts";
import { AgentDatabase } from "../../src/storage/database.ts";
import { startHarness, type Harness } from "../support/harness.ts";
import { gate, resetDesk } from "./desk.ts";
import { eventually, result, userMessage, type Wire } from "./spec-client.ts";

/** JSON text parsed and produced while `fn` runs, in characters: the work of (de)serialising state. */
function jsonCharacters(fn: () => void): number {
  const parse = vi.spyOn(JSON, "parse");
  const stringify = vi.spyOn(JSON, "stringify");
  try {
    fn();
    const parsed = parse.mock.calls.reduce((sum, [text]) => sum + String(text).length, 0);
    const produced = stringify.mock.results.reduce((sum, outcome) => sum + (outcome.type === "return" && typeof outcome.value === "string" ? outcome.value.length : 0), 0);
    return parsed + produced;
  } finally {
    parse.mockRestore();
    stringify.mockRestore();
  }
}

/** The JSON work of each appended chunk and of each progress message, in emit order. */
const costs = { chunks: [] as number[], progress: [] as number[] };

/**
 * `stream <n> [pause]`: a 100-character first chunk, then n appended chunks, each followed by a
 * progress message; with `pause`, an answer (kept in the history) and a wait for the gate `halfway`
 * after half of them. The last chunk is marked and adds to the artifact's metadata.
 */
const streamer: A2AExecutor = async (message, ctx) => {
  const [, count = "0", pause] = message.parts.map((part) => part.text ?? "").join("").split(" ");
  const n = Number(count);
  ctx.emit({ artifact: { artifactId: "story", name: "story", text: "0".repeat(100), metadata: { lang: "en" } } });
  for (let i = 1; i <= n; i++) {
    const last = i === n;
    const chunk = { artifact: { artifactId: "story", text: String(i % 10).repeat(100), ...(last ? { metadata: { done: true } } : {}) }, append: true, lastChunk: last };
    costs.chunks.push(jsonCharacters(() => ctx.emit(chunk)));
    costs.progress.push(jsonCharacters(() => ctx.emit({ status: "working", message: `progress ${String(i).padStart(5, "0")}` })));
    if (pause && i === n / 2) {
      ctx.emit({ message: "halfway there" });
      await gate("halfway").promise;
    }
  }
};

const streamerOptions = { card: { name: "Streamer", description: "Streams long artifacts" }, executor: streamer };
class Streamer extends Agent {
  onRequest(request: Request) {
    return handleA2ARequest(this, request, streamerOptions);
  }
}

let harness: Harness;
let endpoint: string;

beforeEach(async () => {
  resetDesk();
  costs.chunks.length = 0;
  costs.progress.length = 0;
  harness = await startHarness({ Streamer });
  endpoint = `${harness.url}/agents/streamer/main`;
});
afterEach(() => harness.close());

const digits = (task: Wire): string => task.artifacts[0].parts.map((part: Wire) => part.text[0]).join("");

describe("a task with many appended chunks and progress messages", () => {
  it("each emit costs the same JSON work at the 600th chunk as at the first: it does not grow with the task", async () => {
    const n = 600;
    const { task } = await result(endpoint, "SendMessage", { message: userMessage(`stream ${n}`) });
    expect(task.status.state).toBe("TASK_STATE_COMPLETED");
    expect(task.artifacts).toHaveLength(1);
    expect(task.artifacts[0]).toMatchObject({ artifactId: "story", name: "story", metadata: { lang: "en", done: true } });
    expect(task.artifacts[0].parts).toHaveLength(n + 1);
    expect(digits(task)).toBe(Array.from({ length: n + 1 }, (_, i) => String(i % 10)).join(""));
    expect(task.history).toHaveLength(1); // progress messages are not kept in the history

    expect(costs.chunks).toHaveLength(n);
    expect(Math.max(...costs.chunks)).toBeLessThanOrEqual(costs.chunks[0]! * 1.2);
    expect(Math.max(...costs.progress)).toBeLessThanOrEqual(costs.progress[0]! * 1.2);
    // About the event itself (~300 characters of JSON), not the task (~70,000 by the end).
    expect(costs.chunks[0]).toBeLessThan(1_000);
    expect(costs.progress[0]).toBeLessThan(1_000);
  });

  it("GetTask, ListTasks and a replay see every event so far while it streams, and the whole task once it ends", async () => {
    const { task } = await result(endpoint, "SendMessage", { message: userMessage("stream 10 pause"), configuration: { returnImmediately: true } });
    const mid = await eventually(async () => {
      const got = await result(endpoint, "GetTask", { id: task.id });
      return got.artifacts?.[0]?.parts.length === 6 && got.history.length === 2 && got;
    }, "half of the chunks");
    expect(digits(mid)).toBe("012345");
    expect(mid.status).toMatchObject({ state: "TASK_STATE_WORKING", message: { parts: [{ text: "halfway there" }] } });
    expect(mid.history.map((m: Wire) => m.parts[0].text)).toEqual(["stream 10 pause", "halfway there"]);
    const listed = (await result(endpoint, "ListTasks", { includeArtifacts: true, historyLength: 5 })).tasks[0];
    expect(listed).toMatchObject({ id: task.id, status: mid.status, artifacts: mid.artifacts, history: mid.history });
    const pending = (await result(endpoint, "ListTasks", { status: "TASK_STATE_WORKING" })).tasks;
    expect(pending.map((t: Wire) => t.id)).toEqual([task.id]);

    gate("halfway").open();
    const done = await eventually(async () => {
      const got = await result(endpoint, "GetTask", { id: task.id });
      return got.status.state === "TASK_STATE_COMPLETED" && got;
    }, "the task to complete");
    expect(digits(done)).toBe("01234567890");
    expect(done.artifacts[0].metadata).toEqual({ lang: "en", done: true });
    expect(done.history.map((m: Wire) => m.parts[0].text)).toEqual(["stream 10 pause", "halfway there"]);
    expect(Date.parse(done.lastModified)).toBeGreaterThanOrEqual(Date.parse(mid.lastModified));
  });
});

describe("a stream of a long task", () => {
  it("reads the task's log as the client takes it, a page at a time, not all of it when the stream starts", async () => {
    const n = 600;
    const { task } = await result(endpoint, "SendMessage", { message: userMessage(`stream ${n}`) });
    expect(task.status.state).toBe("TASK_STATE_COMPLETED");
    const events = vi.spyOn(A2ATaskStore.prototype, "events");
    const rowsRead = () => events.mock.results.reduce((sum, outcome) => sum + (outcome.type === "return" ? (outcome.value as unknown[]).length : 0), 0);
    try {
      // In-process, without sockets: nothing but this reader takes from the stream.
      const request = new Request(endpoint, {
        method: "POST",
        headers: { "content-type": "application/json", "last-event-id": "0" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "SubscribeToTask", params: { id: task.id } }),
      });
      const response = await harness.host.request("Streamer", "main", request);
      const reader = response.body!.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toMatch(/^id: 1\n/);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(rowsRead()).toBeLessThanOrEqual(STREAM_PAGE_EVENTS);
      let text = new TextDecoder().decode(first.value);
      for (let read = await reader.read(); !read.done; read = await reader.read()) text += new TextDecoder().decode(read.value);
      // Every event once, in order, then the end: submitted, working, the first chunk, n chunks, n progress messages, completed.
      const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1]));
      expect(ids).toEqual(Array.from({ length: 2 * n + 4 }, (_, i) => i + 1));
      expect(rowsRead()).toBe(2 * n + 4);
    } finally {
      events.mockRestore();
    }
  });
});

describe("the task store", () => {
  let dir: string;
  let db: AgentDatabase;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "hearth-a2a-store-"));
    db = new AgentDatabase({ path: join(dir, "old.sqlite"), durability: "relaxed", identity: "a2a/old", currentOwner: () => undefined });
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads a task an older version wrote whole (without events stored apart) as it was, and applies new events once", () => {
    db.execScript(`
      CREATE TABLE _hearth_a2a_tasks (
        id TEXT PRIMARY KEY, context_id TEXT NOT NULL, state TEXT NOT NULL, task TEXT NOT NULL,
        last_seq INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
      );
      CREATE TABLE _hearth_a2a_events (
        task_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (task_id, seq)
      ) WITHOUT ROWID;`);
    const at = new Date(1_000).toISOString();
    const ids = { taskId: "t1", contextId: "c1" };
    const working = { state: "working" as const, timestamp: at };
    const task: A2ATask = {
      id: "t1",
      contextId: "c1",
      status: working,
      artifacts: [{ artifactId: "a", parts: [{ text: "x" }] }],
      history: [{ messageId: "m1", role: "user", parts: [{ text: "go" }] }],
      createdAt: at,
      lastModified: at,
    };
    const old: LoggedEvent[] = [
      { kind: "status", ...ids, status: { state: "submitted", timestamp: at }, final: false },
      { kind: "status", ...ids, status: working, final: false },
      { kind: "artifact", ...ids, artifact: { artifactId: "a", parts: [{ text: "x" }] }, append: false, lastChunk: false },
    ];
    db.statement("INSERT INTO _hearth_a2a_tasks VALUES ('t1', 'c1', 'working', ?, 3, 1000, 1000)").run(JSON.stringify(task));
    old.forEach((event, i) => db.statement("INSERT INTO _hearth_a2a_events VALUES ('t1', ?, ?, 1000)").run(i + 1, JSON.stringify(event)));

    const store = A2ATaskStore.of(db);
    expect(store.get("t1")).toEqual({ task, lastSeq: 3 });
    expect(store.append("t1", { kind: "artifact", ...ids, artifact: { artifactId: "a", parts: [{ text: "y" }] }, append: true, lastChunk: false }, 2_000, 100)).toBe(4);
    expect(store.get("t1")!.task.artifacts).toEqual([{ artifactId: "a", parts: [{ text: "x" }, { text: "y" }] }]);
    const answer = { messageId: "m2", role: "agent" as const, parts: [{ text: "done" }] };
    expect(store.append("t1", { kind: "status", ...ids, status: { state: "completed", message: answer, timestamp: at }, final: true }, 3_000, 100, true)).toBe(5);
    const final = store.get("t1")!;
    expect(final.lastSeq).toBe(5);
    expect(final.task).toMatchObject({ status: { state: "completed" }, artifacts: [{ parts: [{ text: "x" }, { text: "y" }] }], lastModified: new Date(3_000).toISOString() });
    expect(final.task.history.map((m) => m.messageId)).toEqual(["m1", "m2"]);
    expect(store.events("t1", 3).map((e) => e.seq)).toEqual([4, 5]);
  });
});
