import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../support/harness.ts";
import { calls, Desk, gate, resetDesk, StrictDesk } from "./desk.ts";
import { eventually, result, SpecStream, userMessage } from "./spec-client.ts";

let dataDir: string;
let harness: Harness | undefined;

beforeEach(() => {
  resetDesk();
  dataDir = mkdtempSync(join(tmpdir(), "hearth-a2a-"));
});
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  rmSync(dataDir, { recursive: true, force: true });
});

async function restart(): Promise<string> {
  await harness?.close();
  harness = await startHarness({ Desk, StrictDesk }, { dataDir });
  return harness.url;
}

describe("tasks across a host restart", () => {
  it("a finished task, its artifacts and its event log are still there; the log replays from a cursor", async () => {
    let url = await restart();
    const { task } = await result(`${url}/agents/desk/main`, "SendMessage", { message: userMessage("echo kept") });
    url = await restart();
    const endpoint = `${url}/agents/desk/main`;
    const again = await result(endpoint, "GetTask", { id: task.id });
    expect(again).toMatchObject({ id: task.id, status: { state: "TASK_STATE_COMPLETED" } });
    expect(again.artifacts[0].parts).toEqual([{ text: "kept" }]);
    const replay = await SpecStream.open(endpoint, "SubscribeToTask", { id: task.id }, { "Last-Event-ID": "2" });
    const frames = await replay.rest();
    expect(frames.map((frame) => frame.id)).toEqual(["3", "4"]);
    expect((await result(endpoint, "ListTasks", {})).totalSize).toBe(1);
  });

  it("a task that was running is resumed: the executor is called again with resumed: true and finishes it", async () => {
    let url = await restart();
    const { task } = await result(`${url}/agents/desk/main`, "SendMessage", { message: userMessage("resume never"), configuration: { returnImmediately: true } });
    expect(calls).toEqual([{ text: "resume never", taskId: task.id, resumed: false }]);
    url = await restart(); // the first execution is still waiting on its gate, in a host that is gone
    const endpoint = `${url}/agents/desk/main`;
    await eventually(async () => (await result(endpoint, "GetTask", { id: task.id })).status.state === "TASK_STATE_COMPLETED", "the resumed task to complete");
    expect(calls.at(-1)).toEqual({ text: "resume never", taskId: task.id, resumed: true });
    const done = await result(endpoint, "GetTask", { id: task.id });
    expect(done.artifacts.map((a: { name: string }) => a.name)).toEqual(["resumed"]);
    gate("never").open(); // the old execution wakes in a closed agent: it must change nothing
    expect((await result(endpoint, "GetTask", { id: task.id })).artifacts).toHaveLength(1);
  });

  it("with onInterrupted: fail, a task that was running fails with the reason", async () => {
    let url = await restart();
    const { task } = await result(`${url}/agents/strict-desk/s`, "SendMessage", { message: userMessage("slow never2"), configuration: { returnImmediately: true } });
    url = await restart();
    const failed = await result(`${url}/agents/strict-desk/s`, "GetTask", { id: task.id });
    expect(failed.status).toMatchObject({ state: "TASK_STATE_FAILED", message: { parts: [{ text: "The host stopped while the task was running" }] } });
  });

  it("the chunks and progress a task logged before the host stopped are in it after the restart", async () => {
    let url = await restart();
    const { task } = await result(`${url}/agents/strict-desk/s`, "SendMessage", { message: userMessage("partial never3"), configuration: { returnImmediately: true } });
    await eventually(async () => (await result(`${url}/agents/strict-desk/s`, "GetTask", { id: task.id })).status.message?.parts[0].text === "halfway", "the progress message");
    url = await restart();
    const failed = await result(`${url}/agents/strict-desk/s`, "GetTask", { id: task.id });
    expect(failed.status).toMatchObject({ state: "TASK_STATE_FAILED", message: { parts: [{ text: "The host stopped while the task was running" }] } });
    expect(failed.artifacts).toEqual([{ artifactId: "draft", name: "draft", parts: [{ text: "first " }, { text: "second" }] }]);
    expect(failed.history.map((m: { parts: Array<{ text: string }> }) => m.parts[0]!.text)).toEqual(["partial never3", "The host stopped while the task was running"]);
  });

  it("a task waiting for input takes its answer after a restart (the executor runs again with the history)", async () => {
    let url = await restart();
    const { task } = await result(`${url}/agents/desk/main`, "SendMessage", { message: userMessage("ask") });
    expect(task.status.state).toBe("TASK_STATE_INPUT_REQUIRED");
    url = await restart();
    const answered = (await result(`${url}/agents/desk/main`, "SendMessage", { message: userMessage("Linus", { taskId: task.id }) })).task;
    // The new execution gets "Linus" as its message: the desk treats it as an unknown command and says so.
    expect(calls.at(-1)).toEqual({ text: "Linus", taskId: task.id, resumed: true });
    expect(answered.status.state).toBe("TASK_STATE_COMPLETED");
    expect(answered.history.map((m: { parts: Array<{ text: string }> }) => m.parts[0]!.text)).toEqual(["ask", "What is your name?", "Linus", "unknown command Linus"]);
  });
});
