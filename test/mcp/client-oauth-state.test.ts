// The OAuth callback's `state`, end to end on loopback (a real authorization server protecting an SDK
// MCP server): a callback is checked before its state is used, so whoever learns the state (it is in
// `auth_url`, which every client of the agent sees) can fail the server but not wedge it; a used
// state is remembered, so a reload or a duplicate of a successful callback is answered as a success.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { McpOAuthResult } from "../../src/mcp/client/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { startOAuthServer, type OAuthServer } from "../support/oauth-server.ts";
import { Assistant, eventually } from "./fixtures/remote-assistant.ts";
import { startRemoteServer, type RemoteServer } from "./fixtures/remote-server.ts";

/** An Assistant whose "recorded" instance answers callbacks with customHandler and keeps what it got. */
export class Gate extends Assistant {
  results: McpOAuthResult[] = [];

  onStart() {
    if (this.name !== "recorded") return;
    this.mcp.configureOAuthCallback({
      customHandler: (result) => {
        this.results.push(result);
        return Response.json(result, { status: result.authSuccess ? 200 : 400 });
      },
    });
  }

  handled() {
    return this.results;
  }
}

let as: OAuthServer;
let remote: RemoteServer;
let t: TestEnv;

beforeEach(async () => {
  as = await startOAuthServer();
  remote = await startRemoteServer({ auth: { issuer: as.url, jwksUrl: as.jwksUrl, isActive: (token) => as.isActive(token) } });
  t = await createTestEnv({ agents: { Gate }, time: "system" });
});

afterEach(async () => {
  await t.close();
  await remote.close();
  await as.close();
});

async function mountOverHttp(name: string): Promise<{ id: string; state: string; authUrl: string }> {
  const response = await t.fetch(`/agents/gate/${name}/mount`, { method: "POST", body: JSON.stringify({ name: "protected", url: remote.url }) });
  const body = (await response.json()) as { id: string; state: string; authUrl: string };
  expect(body.state).toBe("authenticating");
  return body;
}

/** The callback URL the authorization server sends the browser to, with its code and state. */
async function callbackOf(authUrl: string): Promise<string> {
  const atServer = await fetch(authUrl, { redirect: "manual" });
  expect(atServer.status).toBe(302);
  return atServer.headers.get("location")!;
}

async function server(agent: ReturnType<typeof t.get<Gate>>, id: string) {
  return (await agent.servers()).servers[id]!;
}

describe("a callback that cannot authorize", () => {
  it.each([
    ["carries the state but no code", "", /no code parameter/],
    ["carries the authorization server's error", "&error=access_denied", /refused: access_denied/],
  ])("%s: fails the server without using the state, so the user's own callback still authorizes it", async (_, extra, reason) => {
    const agent = t.get<Gate>("Gate", "alice");
    const mounted = await mountOverHttp("alice");
    const state = new URL(mounted.authUrl).searchParams.get("state")!;

    const forged = await t.fetch(`/agents/gate/alice/callback?state=${encodeURIComponent(state)}${extra}`, { redirect: "manual" });
    expect(forged.status).toBe(302);
    expect(forged.headers.get("location")).toBe(`${await t.url()}/`);
    const failed = await server(agent, mounted.id);
    expect(failed).toMatchObject({ state: "failed", auth_url: null });
    expect(failed.error).toMatch(reason);

    // The user finishes the authorization they started: its state is still good.
    const page = await fetch(await callbackOf(mounted.authUrl), { redirect: "manual" });
    expect(page.status).toBe(302);
    await eventually(
      () => agent.servers(),
      (s) => s.servers[mounted.id]?.state === "ready",
    );
    expect(await agent.call(mounted.id, "add", { a: 2, b: 2 })).toEqual({ content: [{ type: "text", text: "4" }] });
  });

  it("leaves a failed server that mounting again retries with a new authorization", async () => {
    const agent = t.get<Gate>("Gate", "bob");
    const mounted = await mountOverHttp("bob");
    const state = new URL(mounted.authUrl).searchParams.get("state")!;
    await t.fetch(`/agents/gate/bob/callback?state=${encodeURIComponent(state)}`, { redirect: "manual" });
    expect((await server(agent, mounted.id)).state).toBe("failed");

    const again = await mountOverHttp("bob");
    expect(again.id).toBe(mounted.id);
    expect(again.authUrl).not.toBe(mounted.authUrl);
    await fetch(await callbackOf(again.authUrl), { redirect: "manual" });
    await eventually(
      () => agent.servers(),
      (s) => s.servers[mounted.id]?.state === "ready",
    );
  });

  it("a code that fails its exchange uses the state up and leaves the server failed, ready for a new attempt", async () => {
    const agent = t.get<Gate>("Gate", "carol");
    const mounted = await mountOverHttp("carol");
    const state = new URL(mounted.authUrl).searchParams.get("state")!;
    await t.fetch(`/agents/gate/carol/callback?state=${encodeURIComponent(state)}&code=forged`, { redirect: "manual" });
    const failed = await server(agent, mounted.id);
    expect(failed).toMatchObject({ state: "failed", auth_url: null });
    expect(failed.error).toMatch(/Authorization failed/);
    const again = await mountOverHttp("carol");
    expect(again.authUrl).not.toBe(mounted.authUrl);
  });
});

describe("a state used before", () => {
  it("a reload of the callback after a successful authorization is answered as the success it was", async () => {
    const agent = t.get<Gate>("Gate", "recorded");
    const mounted = await mountOverHttp("recorded");
    const callback = await callbackOf(mounted.authUrl);
    expect((await fetch(callback)).status).toBe(200);
    await eventually(
      () => agent.servers(),
      (s) => s.servers[mounted.id]?.state === "ready",
    );
    const reload = await fetch(callback);
    expect(reload.status).toBe(200);
    expect(await agent.handled()).toEqual([
      { serverId: mounted.id, authSuccess: true },
      { serverId: mounted.id, authSuccess: true },
    ]);
    expect(as.stats.codeExchanges).toBe(1);
    expect((await agent.servers()).servers[mounted.id]!.state).toBe("ready");
  });

  it("the default answer to a reload is the same redirect to the origin", async () => {
    const agent = t.get<Gate>("Gate", "dana");
    const mounted = await mountOverHttp("dana");
    const callback = await callbackOf(mounted.authUrl);
    expect((await fetch(callback, { redirect: "manual" })).headers.get("location")).toBe(`${await t.url()}/`);
    await eventually(
      () => agent.servers(),
      (s) => s.servers[mounted.id]?.state === "ready",
    );
    const reload = await fetch(callback, { redirect: "manual" });
    expect(reload.status).toBe(302);
    expect(reload.headers.get("location")).toBe(`${await t.url()}/`);
  });

  it("two copies of one callback arriving together exchange the code once, and both are answered as a success", async () => {
    const agent = t.get<Gate>("Gate", "recorded");
    const mounted = await mountOverHttp("recorded");
    const callback = await callbackOf(mounted.authUrl);
    const [first, second] = await Promise.all([fetch(callback), fetch(callback)]);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(as.stats.codeExchanges).toBe(1);
    await eventually(
      () => agent.servers(),
      (s) => s.servers[mounted.id]?.state === "ready",
    );
  });

  it("a state nobody issued is refused without touching any server", async () => {
    const agent = t.get<Gate>("Gate", "recorded");
    const mounted = await mountOverHttp("recorded");
    const unknown = await t.fetch(`/agents/gate/recorded/callback?state=${mounted.id}.forged&code=x`);
    expect(unknown.status).toBe(400);
    expect((await agent.handled()).at(-1)).toEqual({ authSuccess: false, authError: expect.stringContaining("Unknown or already used authorization state") });
    expect((await agent.servers()).servers[mounted.id]).toMatchObject({ state: "authenticating", auth_url: mounted.authUrl });
  });
});
