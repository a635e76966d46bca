import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { A2AClient, a2aMember, handleA2ARequest, memberExecutor, teamExecutor, type A2ATask } from "../../src/a2a/index.ts";
import type { MemberCallContext, MemberEvent, TeamMember } from "../../src/teams/member.ts";
import { fnMember, pipeline, team } from "../../src/teams/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";
import { calls, Desk, gate, resetDesk } from "./desk.ts";
import { eventually, result, userMessage } from "./spec-client.ts";

/** A member that reports an event and shouts its input back. */
const shout: TeamMember<string, string> = {
  kind: "member",
  name: "shout",
  async call(input, context) {
    context.emit({ type: "progress", data: { seen: input.length } });
    return { output: input.toUpperCase(), usage: { inputTokens: 3, outputTokens: 5 } };
  },
};
const shoutOptions = { card: { name: "Shouter", description: "Upper-cases" }, executor: memberExecutor(shout) };
class Shouter extends Agent {
  onRequest(request: Request) {
    return handleA2ARequest(this, request, shoutOptions);
  }
}

const writers = team("a2a-writers", pipeline(fnMember("trim", (text: string) => text.trim()), fnMember("exclaim", (text: string) => `${text}!`)));
const writersOptions = { card: { name: "Writers", description: "A team" }, executor: teamExecutor(writers) };
class Writers extends Agent {
  onRequest(request: Request) {
    return handleA2ARequest(this, request, writersOptions);
  }
}

let harness: Harness;

beforeEach(async () => {
  resetDesk();
  harness = await startHarness({ Desk, Shouter, Writers });
});
afterEach(() => harness.close());

function callContext(key: string, signal = new AbortController().signal): MemberCallContext & { events: MemberEvent[] } {
  const events: MemberEvent[] = [];
  return { runId: "run-1", team: "desk", path: "desk", idempotencyKey: key, signal, owner: {}, events, emit: (event) => events.push(event) };
}

describe("serving members and teams", () => {
  it("memberExecutor: text in, member output as the artifact (with usage), member events as progress", async () => {
    const { task } = await result(`${harness.url}/agents/shouter/s`, "SendMessage", { message: userMessage("hello") });
    expect(task.status.state).toBe("TASK_STATE_COMPLETED");
    expect(task.artifacts).toEqual([expect.objectContaining({ name: "result", parts: [{ text: "HELLO" }], metadata: { usage: { inputTokens: 3, outputTokens: 5 } } })]);
    const client = new A2AClient(`${harness.url}/agents/shouter/s`);
    const items = [];
    for await (const item of client.resubscribe(task.id, { afterSeq: 0 })) items.push(item.event);
    const progress = items.find((event) => event.kind === "status" && event.status.message?.metadata?.["hearth.progress"]);
    expect(progress).toMatchObject({ status: { state: "working", message: { parts: [{ data: { type: "progress", data: { seen: 5 } } }] } } });
  });

  it("teamExecutor: each task is one team run; its output is the artifact", async () => {
    const { task } = await result(`${harness.url}/agents/writers/w`, "SendMessage", { message: userMessage("  hi there  ") });
    expect(task.status.state).toBe("TASK_STATE_COMPLETED");
    expect(task.artifacts[0].parts).toEqual([{ text: "hi there!" }]);
  });
});

describe("A2AClient", () => {
  it("reads the card, sends, streams, lists and resubscribes from a seq, in v1.0 and v0.3", async () => {
    const endpoint = `${harness.url}/agents/desk/c`;
    const viaCard = await A2AClient.fromCard(`${endpoint}/.well-known/agent-card.json`);
    expect(viaCard.url).toBe(endpoint);
    expect(viaCard.version).toBe("1.0");
    expect((await viaCard.getCard()).name).toBe("Desk");
    for (const version of ["1.0", "0.3"] as const) {
      const client = new A2AClient(endpoint, { version });
      const sent = (await client.send("echo one")) as A2ATask;
      expect(sent.status.state).toBe("completed");
      expect(sent.artifacts[0]!.parts).toEqual([{ text: "one" }]);
      const seen = [];
      for await (const item of client.stream("echo two")) seen.push(item);
      expect(seen.map((item) => item.event.kind)).toEqual(["task", "status", "artifact", "status"]);
      expect(seen.map((item) => item.seq)).toEqual([1, 2, 3, 4]);
      const taskId = (seen[0]!.event as { task: A2ATask }).task.id;
      const replayed = [];
      for await (const item of client.resubscribe(taskId, { afterSeq: 2 })) replayed.push(item.seq);
      expect(replayed).toEqual([3, 4]);
      expect((await client.getTask(taskId)).status.state).toBe("completed");
    }
    const page = await new A2AClient(endpoint).listTasks({ pageSize: 3 });
    expect(page.tasks).toHaveLength(3);
    expect(page.totalSize).toBe(4);
    await expect(new A2AClient(endpoint).getTask("missing")).rejects.toMatchObject({ name: "A2AError", code: -32001 });
  });
});

describe("a2aMember", () => {
  const member = () => a2aMember({ url: `${harness.url}/agents/desk/m`, name: "desk", description: "The desk" });

  it("calls the remote agent, streams its events into the run and returns the artifacts' text", async () => {
    const context = callContext("key-1");
    const { output } = await member().call("echo remote", context);
    expect(output).toMatchObject({ state: "completed", text: "remote" });
    expect(context.events.map((event) => event.type)).toEqual(["status", "status", "artifact", "status"]);
    expect((await result(`${harness.url}/agents/desk/m`, "GetTask", { id: output.taskId })).status.state).toBe("TASK_STATE_COMPLETED");
  });

  it("a call repeated with the same idempotency key finds the same task: the remote executor runs once", async () => {
    const first = await member().call("echo once", callContext("key-same"));
    const again = await member().call("echo once", callContext("key-same"));
    expect(again.output.taskId).toBe(first.output.taskId);
    expect(calls.filter((call) => call.text === "echo once")).toHaveLength(1);
  });

  it("a repeated call while the first is still running follows the same task to its end", async () => {
    const slow = member().call("slow m1", callContext("key-slow"));
    await eventually(() => calls.some((call) => call.text === "slow m1"), "the remote execution");
    const repeat = member().call("slow m1", callContext("key-slow"));
    gate("m1").open();
    const [a, b] = await Promise.all([slow, repeat]);
    expect(b.output.taskId).toBe(a.output.taskId);
    expect(b.output.text).toBe("done m1");
    expect(calls.filter((call) => call.text === "slow m1")).toHaveLength(1);
  });

  it("a call with an idempotency key longer than a message id may be (a deep team path) sends a bounded id, the same for the same key", async () => {
    const deepPath = Array.from({ length: 40 }, (_, i) => `step-${i}`).join("/");
    const key = `run-1:${deepPath}/${"x".repeat(100)}`;
    expect(key.length).toBeGreaterThan(256);
    const first = await member().call("echo deep", callContext(key));
    expect(first.output).toMatchObject({ state: "completed", text: "deep" });
    const messageId = first.output.task.history[0]!.messageId;
    expect(messageId.length).toBeLessThanOrEqual(256);
    expect(messageId.startsWith("run-1:step-0/")).toBe(true);
    const again = await member().call("echo deep", callContext(key));
    expect(again.output.taskId).toBe(first.output.taskId);
    expect(calls.filter((call) => call.text === "echo deep")).toHaveLength(1);
    // A key differing only past the kept prefix is another call: another task.
    const other = await member().call("echo deep", callContext(`${key}y`));
    expect(other.output.taskId).not.toBe(first.output.taskId);
  });

  it("aborting the call cancels the remote task", async () => {
    const controller = new AbortController();
    const context = callContext("key-abort", controller.signal);
    const pending = member().call("hang", context);
    await eventually(() => context.events.some((event) => (event.data as { state?: string }).state === "working"), "the task to work");
    controller.abort(new Error("run cancelled"));
    await expect(pending).rejects.toThrow("run cancelled");
    const taskId = (context.events[0]!.data as { taskId: string }).taskId;
    await eventually(async () => (await result(`${harness.url}/agents/desk/m`, "GetTask", { id: taskId })).status.state === "TASK_STATE_CANCELED", "the remote task to be canceled");
  });

  it("a failed remote task fails the call with the remote reason; an unreachable agent fails too", async () => {
    await expect(member().call("fail", callContext("key-fail"))).rejects.toThrow(/^Remote A2A agent desk: task [\w-]+ failed: boom$/);
    const nowhere = a2aMember({ url: `${harness.url}/agents/nothing-here/x`, name: "ghost" });
    await expect(nowhere.call("hi", callContext("key-ghost"))).rejects.toThrow(/^A2A request to http:\/\/127\.0\.0\.1:\d+\/agents\/nothing-here\/x failed: HTTP 400 /);
  });
});
