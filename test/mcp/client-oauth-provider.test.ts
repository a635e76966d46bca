// The MCP client's OAuth storage on its own: a real agent database, a scripted token endpoint. Token
// refresh is single-flight per server, a stale refusal keeps newer tokens, and nothing is written for
// a server that was removed (or whose connection closed) while a flow was still under way.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StoredOAuthTokens } from "@modelcontextprotocol/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqlOAuthProvider } from "../../src/mcp/client/oauth-provider.ts";
import { McpStore, type ServerRecord } from "../../src/mcp/client/store.ts";
import { AgentDatabase } from "../../src/storage/database.ts";

let dir: string;
let db: AgentDatabase;
let store: McpStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hearth-mcp-oauth-"));
  db = new AgentDatabase({ path: join(dir, "agent.sqlite"), durability: "relaxed", identity: "test/oauth", currentOwner: () => undefined });
  store = new McpStore(db, async (fn) => fn());
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function record(id: string): ServerRecord {
  return { id, name: id, url: "https://mcp.example/mcp", transport: "auto", headers: undefined, callbackUrl: undefined, limits: undefined, authUrl: undefined, catalog: undefined };
}

function provider(serverId: string): SqlOAuthProvider {
  return new SqlOAuthProvider({
    store,
    serverId,
    clientName: "test",
    callbackUrl: () => "https://agent.example/agents/a/b/callback",
    acceptAuthorizationUrl: () => true,
  });
}

const TOKEN_URL = "https://as.example/token";

function refreshRequest(refreshToken: string): RequestInit {
  return { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }) };
}

/** A token endpoint that rotates refresh tokens (`r1` → `r2` → …) and answers slowly enough for requests to overlap. */
function rotatingTokenEndpoint() {
  const valid = new Set(["r1"]);
  let issued = 1;
  const seen: string[] = [];
  const fetch = async (_input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const refreshToken = new URLSearchParams(String(init?.body)).get("refresh_token")!;
    seen.push(refreshToken);
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (!valid.delete(refreshToken)) return Response.json({ error: "invalid_grant", error_description: "refresh token was already used" }, { status: 400 });
    issued++;
    valid.add(`r${issued}`);
    return Response.json({ access_token: `a${issued}`, token_type: "Bearer", expires_in: 60, refresh_token: `r${issued}` });
  };
  return { fetch: fetch as typeof globalThis.fetch, seen, revoke: () => valid.clear() };
}

describe("token refresh", () => {
  it("sends one refresh request for callers that refresh the same token at once, and gives each the answer", async () => {
    await store.insert(record("s1"), 1);
    const oauth = provider("s1");
    await oauth.saveTokens({ access_token: "a1", token_type: "Bearer", refresh_token: "r1" });
    const endpoint = rotatingTokenEndpoint();
    const fetch = oauth.authorizedFetch(endpoint.fetch);

    const answers = await Promise.all([1, 2, 3, 4].map(() => fetch(TOKEN_URL, refreshRequest("r1"))));
    const bodies = await Promise.all(answers.map((answer) => answer.json() as Promise<StoredOAuthTokens>));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    expect(bodies.map((body) => body.refresh_token)).toEqual(["r2", "r2", "r2", "r2"]);
    expect(endpoint.seen).toEqual(["r1"]);

    // A caller that read the tokens before they were replaced gets the same answer, not an invalid_grant.
    await oauth.saveTokens({ ...bodies[0]! });
    const late = await fetch(TOKEN_URL, refreshRequest("r1"));
    expect(late.status).toBe(200);
    expect(((await late.json()) as StoredOAuthTokens).access_token).toBe("a2");
    expect(endpoint.seen).toEqual(["r1"]);
    // …and saving its copy again cannot bring back a rotated refresh token.
    await oauth.saveTokens({ access_token: "a1", token_type: "Bearer", refresh_token: "r1" });
    expect(oauth.tokens()?.refresh_token).toBe("r2");
  });

  it("keeps the current tokens when the refused refresh token is no longer the current one", async () => {
    await store.insert(record("s1"), 1);
    const oauth = provider("s1");
    const endpoint = rotatingTokenEndpoint();
    const fetch = oauth.authorizedFetch(endpoint.fetch);
    await oauth.saveTokens({ access_token: "a9", token_type: "Bearer", refresh_token: "r9" });

    // What the SDK does after an invalid_grant for a stale refresh token: discard "the" tokens.
    const stale = await fetch(TOKEN_URL, refreshRequest("r0"));
    expect(stale.status).toBe(400);
    await oauth.invalidateCredentials("tokens");
    expect(oauth.tokens()?.refresh_token).toBe("r9");

    // A refusal of the current refresh token (revoked) does discard them.
    const current = await fetch(TOKEN_URL, refreshRequest("r9"));
    expect(current.status).toBe(400);
    await oauth.invalidateCredentials("tokens");
    expect(oauth.tokens()).toBeUndefined();
  });

  it("retries a 401 answered to an access token that was replaced meanwhile, with the current one", async () => {
    await store.insert(record("s1"), 1);
    const oauth = provider("s1");
    await oauth.saveTokens({ access_token: "new", token_type: "Bearer", refresh_token: "r2" });
    const sent: string[] = [];
    const server = (async (_input: string | URL | Request, init?: RequestInit) => {
      const authorization = new Headers(init?.headers).get("authorization") ?? "";
      sent.push(authorization);
      return new Response(null, { status: authorization === "Bearer new" ? 200 : 401 });
    }) as typeof globalThis.fetch;
    const fetch = oauth.authorizedFetch(server);
    expect((await fetch("https://mcp.example/mcp", { method: "POST", headers: { authorization: "Bearer old" }, body: "{}" })).status).toBe(200);
    expect(sent).toEqual(["Bearer old", "Bearer new"]);
    // A 401 to the current token goes back to the SDK (which refreshes or asks the user).
    sent.length = 0;
    await oauth.saveTokens({ access_token: "newer", token_type: "Bearer", refresh_token: "r3" });
    expect((await fetch("https://mcp.example/mcp", { method: "POST", headers: { authorization: "Bearer newer" }, body: "{}" })).status).toBe(401);
    expect(sent).toEqual(["Bearer newer"]);
  });
});

describe("a removed server", () => {
  it("gets no OAuth row back from a write that comes after its removal", async () => {
    await store.insert(record("gone"), 1);
    await store.setOAuth("gone", "client_information", { client_id: "c1" });
    expect(store.oauth("gone", "client_information")).toEqual({ client_id: "c1" });
    await store.remove("gone");

    const oauth = provider("gone");
    await oauth.saveTokens({ access_token: "a1", token_type: "Bearer", refresh_token: "r1" });
    await oauth.saveClientInformation({ client_id: "c2" });
    await store.setPendingAuthorization("gone", { url: "https://as.example/authorize", state: "gone.x", verifier: "v" });
    expect(db.statement("SELECT COUNT(*) AS n FROM hearth_mcp_oauth").get()).toEqual({ n: 0 });
    expect(store.serverForState("gone.x")).toBeUndefined();
  });

  it("writes nothing through a provider whose connection closed", async () => {
    await store.insert(record("s1"), 1);
    const oauth = provider("s1");
    oauth.close();
    await oauth.saveTokens({ access_token: "a1", token_type: "Bearer", refresh_token: "r1" });
    await oauth.saveClientInformation({ client_id: "c1" });
    await oauth.saveDiscoveryState({ authorizationServerUrl: "https://as.example" });
    expect(db.statement("SELECT COUNT(*) AS n FROM hearth_mcp_oauth").get()).toEqual({ n: 0 });
  });
});
