import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../support/harness.ts";
import { Desk, gate, resetDesk } from "./desk.ts";
import { error, eventually, result, SpecStream, userMessage, userMessageV03 } from "./spec-client.ts";

let harness: Harness;
let endpoint: string;

beforeEach(async () => {
  resetDesk();
  harness = await startHarness({ Desk });
  endpoint = `${harness.url}/agents/desk/main`;
});
afterEach(() => harness.close());

describe("SendStreamingMessage and message/stream", () => {
  it("v1.0: the task first, then statusUpdate / artifactUpdate items, each with its seq as the SSE id; the stream ends at a terminal state", async () => {
    const stream = await SpecStream.open(endpoint, "SendStreamingMessage", { message: userMessage("echo streamed") });
    expect(stream.response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const frames = await stream.rest();
    expect(frames.every((frame) => frame.data.jsonrpc === "2.0" && frame.data.result)).toBe(true);
    const items = frames.map((frame) => frame.data.result);
    expect(Object.keys(items[0])).toEqual(["task"]);
    const taskId = items[0].task.id;
    const kinds = items.slice(1).map((item) => Object.keys(item)[0]);
    expect(kinds).toEqual(["statusUpdate", "artifactUpdate", "statusUpdate"]);
    expect(items[1].statusUpdate).toMatchObject({ taskId, status: { state: "TASK_STATE_WORKING" } });
    expect(items[2].artifactUpdate).toMatchObject({ taskId, artifact: { name: "echo", parts: [{ text: "streamed" }] }, append: false });
    expect(items.at(-1).statusUpdate.status.state).toBe("TASK_STATE_COMPLETED");
    const seqs = frames.map((frame) => Number(frame.id));
    expect(seqs.slice(1)).toEqual([2, 3, 4]);
    expect(stream.ended).toBe(true);
  });

  it("v0.3: kind-tagged items (task, status-update with final, artifact-update)", async () => {
    const stream = await SpecStream.open(endpoint, "message/stream", { message: userMessageV03("echo old") });
    const items = (await stream.rest()).map((frame) => frame.data.result);
    expect(items.map((item) => item.kind)).toEqual(["task", "status-update", "artifact-update", "status-update"]);
    expect(items[1]).toMatchObject({ status: { state: "working" }, final: false });
    expect(items[2].artifact.parts).toEqual([{ kind: "text", text: "old" }]);
    expect(items[3]).toMatchObject({ status: { state: "completed" }, final: true });
  });

  it("ends at input-required and continues on a new stream with the next message", async () => {
    const first = await SpecStream.open(endpoint, "SendStreamingMessage", { message: userMessage("ask") });
    const items = (await first.rest()).map((frame) => frame.data.result);
    const taskId = items[0].task.id;
    expect(items.at(-1).statusUpdate.status).toMatchObject({ state: "TASK_STATE_INPUT_REQUIRED", message: { parts: [{ text: "What is your name?" }] } });
    const second = await SpecStream.open(endpoint, "SendStreamingMessage", { message: userMessage("Grace", { taskId }) });
    const more = (await second.rest()).map((frame) => frame.data.result);
    expect(more.at(-1).statusUpdate.status.state).toBe("TASK_STATE_COMPLETED");
    expect(more.find((item) => item.artifactUpdate)?.artifactUpdate.artifact.parts).toEqual([{ text: "Hello Grace" }]);
  });

  it("a continuation's stream starts from the task working, not from the question it was waiting on", async () => {
    const first = await SpecStream.open(endpoint, "message/stream", { message: userMessageV03("ask") });
    const taskId = (await first.rest())[0]!.data.result.id;
    const second = await SpecStream.open(endpoint, "message/stream", { message: userMessageV03("Grace", { taskId }) });
    const items = (await second.rest()).map((frame) => frame.data.result);
    // A client that takes a first task frame in input-required as final would stop here with nothing.
    expect(items[0]).toMatchObject({ kind: "task", id: taskId, status: { state: "working" } });
    expect(items.map((item) => item.kind)).toEqual(["task", "artifact-update", "status-update"]);
    expect(items.at(-1)).toMatchObject({ status: { state: "completed" }, final: true });
  });
});

describe("resubscribing", () => {
  it("after a dropped connection, SubscribeToTask with Last-Event-ID replays what was missed, then the live events", async () => {
    const stream = await SpecStream.open(endpoint, "SendStreamingMessage", { message: userMessage("slow r1") });
    const taskId = (await stream.next())!.data.result.task.id;
    const working = await stream.next();
    expect(working!.data.result.statusUpdate.status.state).toBe("TASK_STATE_WORKING");
    stream.drop(); // the progress message ("started") is never read on this connection
    const again = await SpecStream.open(endpoint, "SubscribeToTask", { id: taskId }, { "Last-Event-ID": working!.id! });
    const missed = await again.next();
    expect(Number(missed!.id)).toBe(Number(working!.id) + 1);
    expect(missed!.data.result.statusUpdate.status.message.parts).toEqual([{ text: "started" }]);
    gate("r1").open(); // live from here
    const live = await again.rest();
    expect(live.map((frame) => Number(frame.id))).toEqual([Number(missed!.id) + 1, Number(missed!.id) + 2]);
    expect(live[0]!.data.result.artifactUpdate.artifact.parts).toEqual([{ text: "done r1" }]);
    expect(live[1]!.data.result.statusUpdate.status.state).toBe("TASK_STATE_COMPLETED");
  });

  it("a client that was away until the task ended gets the events it missed and the stream ends", async () => {
    const stream = await SpecStream.open(endpoint, "SendStreamingMessage", { message: userMessage("slow r3") });
    const taskId = (await stream.next())!.data.result.task.id;
    stream.drop();
    gate("r3").open();
    await eventually(async () => (await result(endpoint, "GetTask", { id: taskId })).status.state === "TASK_STATE_COMPLETED", "the task to complete");
    const again = await SpecStream.open(endpoint, "SubscribeToTask", { id: taskId }, { "Last-Event-ID": "1" });
    const missed = (await again.rest()).map((frame) => frame.data.result);
    expect(missed.map((item) => Object.keys(item)[0])).toEqual(["statusUpdate", "statusUpdate", "artifactUpdate", "statusUpdate"]);
    expect(missed.at(-1).statusUpdate.status.state).toBe("TASK_STATE_COMPLETED");
  });

  it("tasks/resubscribe on a running task starts with the task, then streams live events", async () => {
    const { task } = await result(endpoint, "SendMessage", { message: userMessage("slow r2"), configuration: { returnImmediately: true } });
    const watch = await SpecStream.open(endpoint, "tasks/resubscribe", { id: task.id });
    const first = await watch.next();
    expect(first!.data.result).toMatchObject({ kind: "task", id: task.id, status: { state: "working" } });
    gate("r2").open();
    const rest = (await watch.rest()).map((frame) => frame.data.result);
    expect(rest.map((item) => item.kind)).toEqual(["artifact-update", "status-update"]);
    expect(rest[1]).toMatchObject({ status: { state: "completed" }, final: true });
  });

  it("subscribing to a task in a terminal state without a cursor is -32004; an unknown task -32001; a bad cursor -32602", async () => {
    const { task } = await result(endpoint, "SendMessage", { message: userMessage("echo done") });
    expect(await error(endpoint, "SubscribeToTask", { id: task.id })).toMatchObject({
      code: -32004,
      message: `Task "${task.id}" is completed: there is nothing to subscribe to (GetTask returns it)`,
    });
    expect(await error(endpoint, "SubscribeToTask", { id: "missing" })).toMatchObject({ code: -32001 });
    expect(await error(endpoint, "SubscribeToTask", { id: task.id }, { "Last-Event-ID": "abc" })).toMatchObject({
      code: -32602,
      message: 'Last-Event-ID must be the seq of an event this agent sent (a number), got "abc"',
    });
    const replay = await SpecStream.open(endpoint, "SubscribeToTask", { id: task.id }, { "Last-Event-ID": "0" });
    const all = (await replay.rest()).map((frame) => Object.keys(frame.data.result)[0]);
    expect(all).toEqual(["statusUpdate", "statusUpdate", "artifactUpdate", "statusUpdate"]);
  });

  it("a canceled task's stream ends with the canceled state", async () => {
    const stream = await SpecStream.open(endpoint, "SendStreamingMessage", { message: userMessage("hang") });
    const taskId = (await stream.next())!.data.result.task.id;
    await stream.next(); // working
    await result(endpoint, "CancelTask", { id: taskId });
    const rest = (await stream.rest()).map((frame) => frame.data.result);
    expect(rest.at(-1).statusUpdate.status.state).toBe("TASK_STATE_CANCELED");
  });
});
