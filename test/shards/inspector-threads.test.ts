/**
 * `hearth start --threads 2 --inspector`: the inspector (on the first thread) shows every thread's
 * agents, reads and changes one the second thread runs, and gathers both threads' logs and traces.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cleanEnv, cleanup, freePort, requireBuild, runCli, tempDir, type CliProcess } from "../cli/helpers.ts";
import { inspectorApi } from "../support/inspector-api.ts";

const APP = join("test", "shards", "fixtures", "threads-app.ts");
const VIEWER = "viewer-token-for-the-threads-test";
const ADMIN = "admin-token-for-the-threads-test";

describe("hearth start --threads 2 --inspector", () => {
  let cli: CliProcess;
  let url: string;
  let inspector: string;
  /** Agents by the thread that runs them (threadId 0 is the first). */
  const byThread = new Map<number, string[]>();
  const api = inspectorApi(() => inspector, VIEWER, ADMIN);

  beforeAll(async () => {
    requireBuild();
    const dir = await tempDir("hearth-threads-inspector-");
    const inspectorPort = await freePort();
    cli = runCli(["start", APP, "--threads", "2", "--port", "0", "--data", dir, "--inspector", "--inspector-port", String(inspectorPort)], {
      env: cleanEnv({ HEARTH_INSPECTOR_TOKEN: VIEWER, HEARTH_INSPECTOR_ADMIN_TOKEN: ADMIN }),
    });
    url = await cli.ready();
    inspector = `http://127.0.0.1:${inspectorPort}`;
    for (let i = 0; i < 10; i++) {
      const name = `room-${i}`;
      const { thread } = (await (await fetch(`${url}/agents/room/${name}`, { headers: { connection: "close" } })).json()) as { thread: number };
      byThread.set(thread, [...(byThread.get(thread) ?? []), name]);
    }
    expect(byThread.size).toBe(2);
  }, 60_000);
  afterAll(() => cleanup(), 30_000);

  test("lists both threads' agents, each with its thread, and counts them", async () => {
    const list = await api("/api/agents?class=Room");
    const names = Array.from({ length: 10 }, (_, i) => `room-${i}`).sort();
    expect(list.json.items!.map((item) => item.name)).toEqual(names);
    const second = [...byThread].find(([thread]) => thread !== 0)![1];
    for (const item of list.json.items!) expect(item.node).toBe(second.includes(item.name as string) ? "thread-1" : "thread-0");
    // Paged: two pages of 6 and 4, in order, across the threads.
    const first = await api("/api/agents?class=Room&limit=6");
    const rest = await api(`/api/agents?class=Room&limit=6&cursor=${String(first.json.next)}`);
    expect([...first.json.items!, ...rest.json.items!].map((item) => item.name)).toEqual(names);
    expect(rest.json.next).toBeNull();
    const classes = (await api("/api/classes")).json as unknown as Array<{ class: string; total: number }>;
    expect(classes.find((row) => row.class === "Room")?.total).toBe(10);
  });

  test("reads and changes an agent the second thread runs; a viewer may not change it", async () => {
    const name = [...byThread].find(([thread]) => thread !== 0)![1][0]!;
    expect((await api(`/api/agents/Room/${name}`)).json).toMatchObject({ class: "Room", name, node: "thread-1" });
    expect((await api(`/api/agents/Room/${name}/state`)).json).toEqual({ state: { count: 1 } });
    expect((await api(`/api/agents/Room/${name}/state`, { method: "PUT", body: { state: { count: 41 } } })).status).toBe(403);
    expect((await api(`/api/agents/Room/${name}/state`, { method: "PUT", as: "admin", body: { state: { count: 41 } } })).json).toEqual({ state: { count: 41 } });
    // The agent itself sees the change: its next request counts from there.
    expect(await (await fetch(`${url}/agents/room/${name}`, { headers: { connection: "close" } })).json()).toEqual({ count: 42, thread: 1 });
  });

  test("gathers both threads' logs and traces", async () => {
    for (const [, names] of byThread) await fetch(`${url}/agents/room/${names[0]}?log`, { headers: { connection: "close" } });
    const logged = async (): Promise<string[]> => {
      const { json } = await api("/api/logs?limit=200");
      return json.items!.map((item) => String(item.msg ?? item.message ?? "")).filter((text) => text.startsWith("logged by"));
    };
    let lines: string[] = [];
    for (const deadline = Date.now() + 10_000; lines.length < 2 && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) lines = await logged();
    expect(lines.sort()).toEqual([...byThread.values()].map((names) => `logged by /agents/room/${names[0]}`).sort());
    const traces = await api("/api/traces?limit=200");
    const nodes = new Set(traces.json.items!.map((item) => item.node));
    expect(nodes).toEqual(new Set(["thread-0", "thread-1"]));
  });

  test("the live stream carries the second thread's logs and events", async () => {
    const name = [...byThread].find(([thread]) => thread !== 0)![1][1]!;
    const abort = new AbortController();
    const response = await fetch(`${inspector}/api/stream?topics=logs,events&agent=${name}`, { headers: { authorization: `Bearer ${VIEWER}` }, signal: abort.signal });
    expect(response.status).toBe(200);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let received = "";
    // One read at a time: a read that lost a race to the timer still gets the next chunk.
    let pending: Promise<ReadableStreamReadResult<string>> | undefined;
    const seen = async (pattern: RegExp, path: string): Promise<boolean> => {
      for (const deadline = Date.now() + 10_000; !pattern.test(received) && Date.now() < deadline; ) {
        pending ??= reader.read();
        const next = await Promise.race([pending, new Promise<undefined>((resolve) => setTimeout(resolve, 200))]);
        if (next !== undefined) {
          pending = undefined;
          if (next.value) received += next.value;
        }
        // The stream subscribes the other thread when it opens: ask again until what it causes shows.
        if (!pattern.test(received)) await fetch(`${url}/agents/room/${name}${path}`, { headers: { connection: "close" } });
      }
      return pattern.test(received);
    };
    expect(await seen(new RegExp(`event: logs\ndata: [^\n]*logged by /agents/room/${name}`), "?log")).toBe(true);
    // A request that changes the agent's state: its agents:* state event.
    const stateEvent = new RegExp(`event: events\ndata: [^\n]*"state:update"[^\n]*"${name}"`);
    await seen(stateEvent, "");
    expect(received).toMatch(stateEvent);
    abort.abort();
  });
});
