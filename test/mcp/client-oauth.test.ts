// OAuth 2.1 for mounted MCP servers, end to end on loopback: a real authorization server (dynamic
// client registration, authorization code + PKCE, rotating refresh tokens, revocation) protecting
// an SDK MCP server; the agent answers the redirect at /agents/assistant/<name>/callback.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { startOAuthServer, type OAuthServer } from "../support/oauth-server.ts";
import { Assistant, eventually } from "./fixtures/remote-assistant.ts";
import { startRemoteServer, type RemoteServer, type RemoteServerOptions } from "./fixtures/remote-server.ts";

let as: OAuthServer;
let remote: RemoteServer;
let t: TestEnv;

async function setup(
  options: { accessTokenTtlSeconds?: number; refreshedAccessTokenTtlSeconds?: number; autoApprove?: boolean } = {},
  remoteOptions: Omit<RemoteServerOptions, "auth"> = {},
): Promise<void> {
  as = await startOAuthServer(options);
  remote = await startRemoteServer({ ...remoteOptions, auth: { issuer: as.url, jwksUrl: as.jwksUrl, isActive: (token) => as.isActive(token) } });
  t = await createTestEnv({ agents: { Assistant }, time: "system" });
}

afterEach(async () => {
  await t.close();
  await remote.close();
  await as.close();
});

/** Mounts through an HTTP request to the agent, as an app would: the agent learns its public origin from it. */
async function mountOverHttp(name = "alice"): Promise<{ id: string; state: string; authUrl?: string }> {
  const response = await t.fetch(`/agents/assistant/${name}/mount`, {
    method: "POST",
    body: JSON.stringify({ name: "protected", url: remote.url }),
  });
  const body = (await response.json()) as { id: string; state: string; authUrl?: string; error?: string };
  if (!response.ok) throw new Error(body.error);
  return body;
}

/** What the user's browser does: open the authorization URL, follow the redirect back to the agent. */
async function authorizeInBrowser(authUrl: string): Promise<Response> {
  const atServer = await fetch(authUrl, { redirect: "manual" });
  expect(atServer.status).toBe(302);
  const callback = atServer.headers.get("location")!;
  expect(callback.startsWith(`${await t.url()}/agents/assistant/alice/callback?`)).toBe(true);
  return fetch(callback, { redirect: "manual" });
}

async function readyState(agent: ReturnType<typeof t.get<Assistant>>, id: string) {
  return eventually(
    () => agent.servers(),
    (s) => s.servers[id]?.state === "ready",
  );
}

describe("authorization code + PKCE with dynamic client registration", () => {
  beforeEach(() => setup());

  it("authenticating → the user authorizes → ready; tokens survive a restart", async () => {
    const agent = t.get<Assistant>("Assistant", "alice");
    const mounted = await mountOverHttp();
    expect(mounted.state).toBe("authenticating");
    const authUrl = new URL(mounted.authUrl!);
    expect(authUrl.origin).toBe(as.url);
    expect(authUrl.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authUrl.searchParams.get("redirect_uri")).toBe(`${await t.url()}/agents/assistant/alice/callback`);
    const waiting = (await agent.servers()).servers[mounted.id]!;
    expect(waiting).toMatchObject({ state: "authenticating", auth_url: mounted.authUrl });

    // As on Cloudflare, the browser is sent back to the app's origin.
    const page = await authorizeInBrowser(mounted.authUrl!);
    expect(page.status).toBe(302);
    expect(page.headers.get("location")).toBe(`${await t.url()}/`);
    await readyState(agent, mounted.id);
    expect((await agent.servers()).servers[mounted.id]!.auth_url).toBeNull();
    expect(await agent.call(mounted.id, "add", { a: 1, b: 2 })).toEqual({ content: [{ type: "text", text: "3" }] });
    expect(as.stats).toMatchObject({ registrations: 1, authorizations: 1, codeExchanges: 1 });

    await t.restart();
    const woken = t.get<Assistant>("Assistant", "alice");
    expect(await woken.call(mounted.id, "echo", { text: "still authorized" })).toEqual({ content: [{ type: "text", text: "still authorized" }] });
    expect(as.stats).toMatchObject({ registrations: 1, authorizations: 1, codeExchanges: 1 });
  });

  it("finishes an authorization started before a restart", async () => {
    const mounted = await mountOverHttp();
    await t.restart();
    const atServer = await fetch(mounted.authUrl!, { redirect: "manual" });
    // The restarted test server listens on another port; a deployment keeps its public URL.
    const callback = new URL(atServer.headers.get("location")!);
    const page = await t.fetch(callback.pathname + callback.search, { redirect: "manual" });
    expect(page.status).toBe(302);
    const woken = t.get<Assistant>("Assistant", "alice");
    await readyState(woken, mounted.id);
    expect(await woken.call(mounted.id, "add", { a: 3, b: 4 })).toEqual({ content: [{ type: "text", text: "7" }] });
    expect(as.stats.registrations).toBe(1);
  });

  it("goes back to authenticating with a new authUrl when the tokens are revoked, and re-authorizes", async () => {
    const agent = t.get<Assistant>("Assistant", "alice");
    const mounted = await mountOverHttp();
    await authorizeInBrowser(mounted.authUrl!);
    await readyState(agent, mounted.id);

    as.revokeAll();
    await expect(agent.call(mounted.id, "add", { a: 1, b: 1 })).rejects.toThrow(/needs authorization/);
    const again = (await agent.servers()).servers[mounted.id]!;
    expect(again.state).toBe("authenticating");
    expect(again.auth_url).toMatch(/^http/);
    expect(again.auth_url).not.toBe(mounted.authUrl);

    const page = await authorizeInBrowser(again.auth_url!);
    expect(page.status).toBe(302);
    await readyState(agent, mounted.id);
    expect(await agent.call(mounted.id, "add", { a: 2, b: 2 })).toEqual({ content: [{ type: "text", text: "4" }] });
    expect(as.stats.registrations).toBe(1);
  });

  it("redirects an unknown state to the origin and changes nothing, and leaves other paths to onRequest", async () => {
    const agent = t.get<Assistant>("Assistant", "alice");
    const mounted = await mountOverHttp();
    const unknown = await t.fetch("/agents/assistant/alice/callback?state=nope&code=abc", { redirect: "manual" });
    expect(unknown.status).toBe(302);
    expect(unknown.headers.get("location")).toBe(`${await t.url()}/`);
    expect((await agent.servers()).servers[mounted.id]).toMatchObject({ state: "authenticating", auth_url: mounted.authUrl });

    const atServer = await fetch(mounted.authUrl!, { redirect: "manual" });
    expect((await fetch(atServer.headers.get("location")!, { redirect: "manual" })).status).toBe(302);
    await readyState(agent, mounted.id);

    expect((await t.fetch("/agents/assistant/alice/other")).status).toBe(404);
    expect((await t.fetch("/agents/assistant/alice/callback", { method: "POST" })).status).toBe(404);
  });

  it("needs a public URL for the callback when nothing tells it", async () => {
    const agent = t.get<Assistant>("Assistant", "bob");
    await expect(agent.mount("protected", remote.url)).rejects.toThrow(/callbackHost.*HEARTH_PUBLIC_URL/);
    const withHost = await agent.mount("protected-2", remote.url, { callbackHost: await t.url() });
    expect(withHost.state).toBe("authenticating");
    expect(new URL((withHost as { authUrl: string }).authUrl).searchParams.get("redirect_uri")).toBe(`${await t.url()}/agents/assistant/bob/callback`);
  });
});

describe("removal", () => {
  it("stores nothing for a server removed while its authorization flow was under way", async () => {
    let reached!: () => void;
    let release!: () => void;
    const atMetadata = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    await setup({}, { beforeResourceMetadata: () => (reached(), released) });
    const agent = t.get<Assistant>("Assistant", "alice");
    const mounting = agent.tryMount("protected", remote.url, { id: "doomed", callbackHost: await t.url() });
    await atMetadata; // the flow is discovering the authorization server
    await agent.unmount("doomed");
    release();
    expect(await mounting).toMatchObject({ ok: false });
    // The flow goes on without the server (it reads the authorization server's metadata, which it
    // would store) until it needs the removed server's callback URL; nothing is written for it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await agent.oauthRows()).toEqual([]);
    expect((await agent.servers()).servers).toEqual({});

    // Mounted again under the same id, it starts from nothing and works.
    const again = await agent.mount("protected", remote.url, { id: "doomed", callbackHost: await t.url() });
    expect(again.state).toBe("authenticating");
    expect(await agent.oauthRows()).toEqual(["doomed"]);
  });
});

describe("expiry and refusal", () => {
  it("refreshes an expired access token with the refresh token", async () => {
    // The first token runs out by the clock; the refreshed one lives long enough for a loaded machine.
    await setup({ accessTokenTtlSeconds: 1, refreshedAccessTokenTtlSeconds: 3600 });
    const agent = t.get<Assistant>("Assistant", "alice");
    const mounted = await mountOverHttp();
    await authorizeInBrowser(mounted.authUrl!);
    await readyState(agent, mounted.id);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect(await agent.call(mounted.id, "add", { a: 5, b: 5 })).toEqual({ content: [{ type: "text", text: "10" }] });
    // On a slow machine the first token may already have run out while connecting; either way one refresh happened.
    expect(as.stats.refreshes).toBeGreaterThanOrEqual(1);
    expect(as.stats.authorizations).toBe(1);
    expect((await agent.servers()).servers[mounted.id]!.state).toBe("ready");
  });

  it("refreshes once for calls made in parallel after the access token expired, and keeps the rotated tokens", async () => {
    await setup();
    const agent = t.get<Assistant>("Assistant", "alice");
    const mounted = await mountOverHttp();
    await authorizeInBrowser(mounted.authUrl!);
    await readyState(agent, mounted.id);
    const before = as.stats;
    // Expired by the server, not by waiting: a busy machine cannot let the refreshed token run out mid-batch.
    as.expireAccessTokens();

    const outcomes = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => agent.attempt(mounted.id, "add", { a: i, b: i })));
    expect(outcomes.map((o) => (o.ok ? "ok" : o.error))).toEqual(["ok", "ok", "ok", "ok", "ok", "ok"]);
    expect(outcomes.map((o) => (o as { result: unknown }).result)).toEqual([2, 4, 6, 8, 10, 12].map((n) => ({ content: [{ type: "text", text: String(n) }] })));
    expect(as.stats.refreshes - before.refreshes).toBe(1);
    expect(as.stats.failedTokenRequests).toBe(before.failedTokenRequests);
    expect((await agent.servers()).servers[mounted.id]!.state).toBe("ready");
    // The rotated tokens were kept: the next expiry refreshes again, with no new authorization.
    as.expireAccessTokens();
    expect(await agent.call(mounted.id, "add", { a: 20, b: 1 })).toEqual({ content: [{ type: "text", text: "21" }] });
    expect(as.stats).toMatchObject({ authorizations: 1, codeExchanges: 1, failedTokenRequests: before.failedTokenRequests });
  });

  it("redirects to the origin and fails the server when the user denies access", async () => {
    await setup({ autoApprove: false });
    const agent = t.get<Assistant>("Assistant", "alice");
    const mounted = await mountOverHttp();
    expect((await fetch(mounted.authUrl!)).status).toBe(200); // the consent page
    const [pending] = as.pendingAuthorizations();
    const denied = await fetch(as.deny(pending!.id), { redirect: "manual" });
    expect(denied.status).toBe(302);
    expect(denied.headers.get("location")).toBe(`${await t.url()}/`);
    const server = (await agent.servers()).servers[mounted.id]!;
    expect(server.state).toBe("failed");
    expect(server.error).toContain("access_denied");
  });
});
