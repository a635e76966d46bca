// The MCP client when a Streamable HTTP server answers 404: a request that carried a session id
// means the server forgot the session, and the client starts one new session for every call that
// met it (calls still running on the old one finish there); any other 404 is an error of its own.
import { afterEach, expect, it } from "vitest";
import { z } from "zod";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { Assistant, eventually } from "./fixtures/remote-assistant.ts";
import { registerDefaults, startRemoteServer, type RemoteServer } from "./fixtures/remote-server.ts";

let t: TestEnv | undefined;
let remote: RemoteServer | undefined;

afterEach(async () => {
  await t?.close();
  await remote?.close();
  t = remote = undefined;
});

/** A tool `wait` that answers once `release` is called; `entered` resolves when a call reached it. */
function gatedTool() {
  let release!: () => void;
  let entered!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const reached = new Promise<void>((resolve) => (entered = resolve));
  const register = (server: Parameters<typeof registerDefaults>[0]) => {
    registerDefaults(server, { calls: 0 });
    server.registerTool("wait", { inputSchema: z.object({}) }, async () => {
      entered();
      await gate;
      return { content: [{ type: "text", text: "waited" }] };
    });
  };
  return { register, release, reached };
}

it("starts one new session for calls that meet the 404 together, and lets a call still running on the old session finish", async () => {
  const gated = gatedTool();
  remote = await startRemoteServer({ register: gated.register });
  t = await createTestEnv({ agents: { Assistant }, time: "system" });
  const agent = t.get<Assistant>("Assistant", "a");
  const { id } = await agent.mount("remote", remote.url);
  expect(remote.sessionsOpened).toBe(1);

  const running = agent.attempt(id, "wait", {});
  await gated.reached;
  // The session expires on the server; three calls carrying its id all get their 404 at once.
  remote.forgetSessions(3);
  const outcomes = await Promise.all([1, 2, 3].map((n) => agent.attempt(id, "add", { a: n, b: n })));
  expect(outcomes.map((outcome) => (outcome.ok ? outcome.result : outcome.error))).toEqual(
    [2, 4, 6].map((n) => ({ content: [{ type: "text", text: String(n) }] })),
  );
  expect(remote.sessionsOpened).toBe(2);
  expect((await agent.servers()).servers[id]!.state).toBe("ready");

  // The call on the old session was not aborted by the renewal: it gets its answer.
  gated.release();
  const finished = await running;
  expect(finished.ok ? finished.result : finished.error).toEqual({ content: [{ type: "text", text: "waited" }] });
  // Its last call done, the old session's client is closed: only the new session's stream stays open.
  await eventually(
    async () => remote!.openGetStreams,
    (open) => open === 1,
  );
  expect(await agent.call(id, "echo", { text: "again" })).toEqual({ content: [{ type: "text", text: "again" }] });
  expect(remote.sessionsOpened).toBe(2);
});

it("reports a 404 to a request without a session id as an error, and starts no new session", async () => {
  remote = await startRemoteServer({ stateless: true });
  t = await createTestEnv({ agents: { Assistant }, time: "system" });
  const agent = t.get<Assistant>("Assistant", "a");
  const { id, state } = await agent.mount("remote", remote.url, { transport: "streamable-http" });
  expect(state).toBe("ready");
  const initialized = remote.initializeRequests;

  remote.setStreamableStatus(404);
  const outcome = await agent.attempt(id, "add", { a: 1, b: 2 });
  expect(outcome).toMatchObject({ ok: false, code: "connection" });
  expect(outcome.error).toBe(
    `MCP server "remote" answered tools/call "add" with HTTP 404 Not Found, and the request carried no session id: ${remote.url} serves no MCP endpoint`,
  );
  expect(remote.initializeRequests).toBe(initialized);
  expect((await agent.servers()).servers[id]).toMatchObject({ state: "ready", error: null });

  // Nothing was torn down: once the URL serves MCP again, calls go through as before.
  remote.setStreamableStatus(undefined);
  expect(await agent.call(id, "add", { a: 2, b: 2 })).toEqual({ content: [{ type: "text", text: "4" }] });
  expect(remote.initializeRequests).toBe(initialized);
});
