import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startHarness, type Harness } from "../support/harness.ts";
import { Desk, gate, resetDesk, StrictDesk } from "./desk.ts";
import { error, eventually, result, userMessage, userMessageV03, type Wire } from "./spec-client.ts";

/** A webhook receiver on loopback that records every notification. */
interface Receiver {
  url: string;
  received: Array<{ path: string; headers: IncomingHttpHeaders; body: Wire }>;
  /** Status answered per path (default 200). */
  status: Map<string, number>;
  server: Server;
}

async function startReceiver(): Promise<Receiver> {
  const received: Receiver["received"] = [];
  const status = new Map<string, number>();
  const server = createServer((request, response) => {
    let text = "";
    request.on("data", (chunk: Buffer) => (text += chunk.toString()));
    request.on("end", () => {
      const path = request.url ?? "/";
      const code = status.get(path) ?? 200;
      received.push({ path, headers: request.headers, body: JSON.parse(text) });
      if (code >= 300 && code < 400) response.setHeader("location", "/target");
      response.writeHead(code).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, status, server };
}

let harness: Harness;
let receiver: Receiver;
let endpoint: string;

beforeEach(async () => {
  resetDesk();
  harness = await startHarness({ Desk, StrictDesk });
  receiver = await startReceiver();
  endpoint = `${harness.url}/agents/desk/main`;
});
afterEach(async () => {
  await harness.close();
  await new Promise((resolve) => receiver.server.close(resolve));
});

const states = (path: string) => receiver.received.filter((r) => r.path === path).map((r) => r.body.task?.status.state ?? r.body.status.state);

describe("push notifications", () => {
  it("v1.0: a config given with the message gets every state change, with its token and credentials, as { task }", async () => {
    const hook = `${receiver.url}/hook`;
    const config = { url: hook, token: "tok-1", authentication: { scheme: "Bearer", credentials: "secret" } };
    const { task } = await result(endpoint, "SendMessage", { message: userMessage("slow p1"), configuration: { returnImmediately: true, taskPushNotificationConfig: config } });
    await eventually(() => states("/hook").includes("TASK_STATE_WORKING"), "the working notification");
    gate("p1").open();
    await eventually(() => states("/hook").includes("TASK_STATE_COMPLETED"), "the completed notification");
    const last = receiver.received.at(-1)!;
    expect(last.headers["x-a2a-notification-token"]).toBe("tok-1");
    expect(last.headers.authorization).toBe("Bearer secret");
    expect(last.body.task).toMatchObject({ id: task.id, status: { state: "TASK_STATE_COMPLETED" } });
    expect(last.body.task.artifacts[0].parts).toEqual([{ text: "done p1" }]);
    const listed = await result(endpoint, "ListTaskPushNotificationConfigs", { taskId: task.id });
    expect(listed).toEqual({ configs: [expect.objectContaining({ taskId: task.id, url: hook, token: "tok-1", authentication: { scheme: "Bearer" } })], nextPageToken: "" });
  });

  it("a notification whose task changed again before it was sent is left to the later one: no state is reported twice", async () => {
    const hook = `${receiver.url}/fast`;
    const { task } = await result(endpoint, "SendMessage", { message: userMessage("echo quick"), configuration: { taskPushNotificationConfig: { url: hook } } });
    expect(task.status.state).toBe("TASK_STATE_COMPLETED");
    await eventually(() => states("/fast").includes("TASK_STATE_COMPLETED"), "the completed notification");
    await harness.host.tasksIdle();
    // working and completed were both logged before either notification was sent: one says it all.
    expect(states("/fast")).toEqual(["TASK_STATE_COMPLETED"]);
  });

  it("v0.3: set / get / list / delete (idempotent), and the notification is the task in the v0.3 shape", async () => {
    const { task } = await result(endpoint, "SendMessage", { message: userMessage("ask") });
    const hook = `${receiver.url}/v03`;
    const set = await result(endpoint, "tasks/pushNotificationConfig/set", { taskId: task.id, pushNotificationConfig: { id: "cfg", url: hook, token: "t03" } });
    expect(set).toEqual({ taskId: task.id, pushNotificationConfig: { id: "cfg", url: hook, token: "t03" } });
    expect(await result(endpoint, "tasks/pushNotificationConfig/get", { id: task.id })).toEqual(set);
    expect(await result(endpoint, "tasks/pushNotificationConfig/get", { id: task.id, pushNotificationConfigId: "cfg" })).toEqual(set);
    expect(await result(endpoint, "tasks/pushNotificationConfig/list", { id: task.id })).toEqual([set]);
    await result(endpoint, "message/send", { message: userMessageV03("Ada", { taskId: task.id }) });
    await eventually(() => states("/v03").includes("completed"), "the completed notification");
    expect(receiver.received.at(-1)!.body).toMatchObject({ kind: "task", id: task.id, status: { state: "completed" } });
    expect(await result(endpoint, "tasks/pushNotificationConfig/delete", { id: task.id, pushNotificationConfigId: "cfg" })).toBeNull();
    expect(await result(endpoint, "tasks/pushNotificationConfig/list", { id: task.id })).toEqual([]);
    // Deleting is idempotent: the config is gone either way; an unknown task is still -32001.
    expect(await result(endpoint, "DeleteTaskPushNotificationConfig", { taskId: task.id, id: "cfg" })).toEqual({});
    expect(await result(endpoint, "tasks/pushNotificationConfig/delete", { id: task.id, pushNotificationConfigId: "never-set" })).toBeNull();
    expect(await error(endpoint, "DeleteTaskPushNotificationConfig", { taskId: "no-such-task", id: "cfg" })).toMatchObject({ code: -32001 });
  });

  it("a failing receiver is retried until it answers", async () => {
    receiver.status.set("/flaky", 500);
    const { task } = await result(endpoint, "SendMessage", { message: userMessage("ask") });
    await result(endpoint, "CreateTaskPushNotificationConfig", { taskId: task.id, url: `${receiver.url}/flaky` });
    await result(endpoint, "CancelTask", { id: task.id });
    await eventually(() => receiver.received.filter((r) => r.path === "/flaky").length >= 2, "a second attempt");
    receiver.status.set("/flaky", 200);
    await eventually(() => receiver.received.filter((r) => r.path === "/flaky").length >= 3, "a third attempt");
    expect(states("/flaky").every((state) => state === "TASK_STATE_CANCELED")).toBe(true);
  });

  it("never follows a redirect: the attempt fails and is retried at the same URL", async () => {
    const logged = vi.spyOn(console, "error");
    receiver.status.set("/moved", 302);
    const { task } = await result(endpoint, "SendMessage", { message: userMessage("ask") });
    await result(endpoint, "CreateTaskPushNotificationConfig", { taskId: task.id, url: `${receiver.url}/moved` });
    await result(endpoint, "CancelTask", { id: task.id });
    await eventually(() => receiver.received.filter((r) => r.path === "/moved").length === 3, "three attempts (maxAttempts)");
    expect(receiver.received.map((r) => r.path)).toEqual(["/moved", "/moved", "/moved"]);
    // The failure is logged with the receiver's origin, never its path (which often holds a secret).
    const lines = logged.mock.calls.map((args) => args.map(String).join(" ")).filter((line) => line.includes("Push notification to"));
    logged.mockRestore();
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join("\n")).toContain(`Push notification to ${receiver.url} was answered with a redirect (HTTP 302)`);
    expect(lines.join("\n")).not.toContain("/moved");
  });

  it("refuses a private or loopback address by default, at registration", async () => {
    const strict = `${harness.url}/agents/strict-desk/s`;
    const { task } = await result(strict, "SendMessage", { message: userMessage("ask") });
    const refused = await error(strict, "CreateTaskPushNotificationConfig", { taskId: task.id, url: `${receiver.url}/nope` });
    expect(refused.code).toBe(-32602);
    expect(refused.message).toMatch(/^Push notification URL refused: Outbound request to http:\/\/127\.0\.0\.1:\d+ refused: 127\.0\.0\.1 is a loopback address \(127\.0\.0\.0\/8\)/);
    const metadata = await error(strict, "SendMessage", {
      message: userMessage("echo x"),
      configuration: { taskPushNotificationConfig: { url: "http://169.254.169.254/latest/meta-data/" } },
    });
    expect(metadata.message).toContain("169.254.169.254 is a link-local address (169.254.0.0/16)");
    expect((await result(strict, "ListTasks", {})).totalSize).toBe(1); // the refused send started nothing
    expect(receiver.received).toEqual([]);
  });

  it("checks config input: the URL, its scheme, the per-task limit", async () => {
    const { task } = await result(endpoint, "SendMessage", { message: userMessage("ask") });
    expect(await error(endpoint, "CreateTaskPushNotificationConfig", { taskId: task.id, url: "not a url" })).toEqual({
      code: -32602,
      message: 'params.url is not a valid URL: "not a url"',
    });
    expect(await error(endpoint, "CreateTaskPushNotificationConfig", { taskId: task.id, url: "ftp://example.com/x" })).toEqual({
      code: -32602,
      message: "params.url must be http or https, got ftp:",
    });
    expect(await error(endpoint, "CreateTaskPushNotificationConfig", { taskId: "missing", url: `${receiver.url}/x` })).toMatchObject({ code: -32001 });
    for (let i = 0; i < 10; i++) await result(endpoint, "CreateTaskPushNotificationConfig", { taskId: task.id, id: `c${i}`, url: `${receiver.url}/c${i}` });
    expect(await error(endpoint, "CreateTaskPushNotificationConfig", { taskId: task.id, id: "c10", url: `${receiver.url}/c10` })).toEqual({
      code: -32602,
      message: `Task "${task.id}" has 10 push notification configs, the limit (maxPushConfigsPerTask)`,
    });
    // Replacing an existing config is not a new one.
    expect((await result(endpoint, "CreateTaskPushNotificationConfig", { taskId: task.id, id: "c0", url: `${receiver.url}/again` })).url).toBe(`${receiver.url}/again`);
    expect((await result(endpoint, "GetTaskPushNotificationConfig", { taskId: task.id, id: "c0" })).url).toBe(`${receiver.url}/again`);
  });
});
