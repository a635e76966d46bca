import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../support/harness.ts";
import { startOAuthServer, type OAuthServer } from "../support/oauth-server.ts";
import { Notes } from "./fixtures/notes.ts";

const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
});
const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };

describe("McpAgent as an OAuth 2.1 protected resource", () => {
  let issuer: OAuthServer;
  let harness: Harness;
  let resource: string;

  beforeAll(async () => {
    issuer = await startOAuthServer();
    let handler: ReturnType<typeof Notes.serve> | undefined;
    harness = await startHarness(
      { Notes },
      {
        fetch: (request, env, ctx) => {
          handler ??= Notes.serve("/mcp", {
            auth: {
              authorizationServers: [issuer.url],
              jwks: { url: issuer.jwksUrl, issuer: issuer.url, audience: resource },
              requiredScopes: ["mcp"],
              scopesSupported: ["mcp"],
              resourceName: "Notes",
              props: (auth) => ({ sub: (auth.extra?.claims as { sub: string }).sub }),
            },
          });
          return handler.fetch(request, env, ctx);
        },
      },
    );
    resource = `${harness.url}/mcp`;
  });
  afterAll(async () => {
    await harness.close();
    await issuer.close();
  });

  it("answers 401 with a WWW-Authenticate challenge pointing at the resource metadata", async () => {
    const response = await fetch(resource, { method: "POST", headers, body: initialize });
    expect(response.status).toBe(401);
    const challenge = response.headers.get("www-authenticate") ?? "";
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain(`resource_metadata="${harness.url}/.well-known/oauth-protected-resource/mcp"`);

    const metadata = await (await fetch(`${harness.url}/.well-known/oauth-protected-resource/mcp`)).json();
    expect(metadata).toEqual({
      resource,
      authorization_servers: [issuer.url],
      bearer_methods_supported: ["header"],
      scopes_supported: ["mcp"],
      resource_name: "Notes",
    });
    expect(harness.host.stats.liveAgents).toBe(0);
  });

  it("refuses bad, foreign-audience and under-scoped tokens", async () => {
    const post = (token: string) => fetch(resource, { method: "POST", headers: { ...headers, authorization: `Bearer ${token}` }, body: initialize });
    const garbage = await post("not-a-jwt");
    expect(garbage.status).toBe(401);
    expect(garbage.headers.get("www-authenticate")).toContain('error="invalid_token"');
    const foreign = await post(await issuer.issueAccessToken({ sub: "eve", scope: "mcp", aud: "https://elsewhere.example/mcp" }));
    expect(foreign.status).toBe(401);
    const expired = await post(await issuer.issueAccessToken({ sub: "eve", scope: "mcp", aud: resource, expiresInSeconds: -60 }));
    expect(expired.status).toBe(401);
    const underScoped = await post(await issuer.issueAccessToken({ sub: "eve", scope: "read", aud: resource }));
    expect(underScoped.status).toBe(403);
    expect(underScoped.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
  });

  it("hands the verified identity to tool handlers as this.props", async () => {
    const token = await issuer.issueAccessToken({ sub: "alice", scope: "mcp", aud: resource });
    const client = new Client({ name: "t", version: "1" });
    const transport = new StreamableHTTPClientTransport(new URL(resource), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    await client.connect(transport);
    const result = (await client.callTool({ name: "whoami", arguments: {} })) as { content: Array<{ text: string }> };
    expect(JSON.parse(result.content[0]!.text)).toEqual({ sub: "alice", session: transport.sessionId });

    // After hibernation the identity comes back from the session's storage.
    await client.close();
    await expect.poll(() => harness.host.hibernateIdleAgents() + (harness.host.stats.liveAgents === 0 ? 1 : 0)).toBeGreaterThan(0);
    const again = await fetch(resource, {
      method: "POST",
      headers: { ...headers, "mcp-session-id": transport.sessionId!, authorization: `Bearer ${token}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "whoami", arguments: {} } }),
    });
    expect(again.status).toBe(200);
    expect(await again.text()).toContain('\\"sub\\":\\"alice\\"');

    // Someone else's valid token does not open alice's session.
    const mallory = await issuer.issueAccessToken({ sub: "mallory", scope: "mcp", aud: resource });
    const hijack = await fetch(resource, {
      method: "POST",
      headers: { ...headers, "mcp-session-id": transport.sessionId!, authorization: `Bearer ${mallory}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "whoami", arguments: {} } }),
    });
    expect(hijack.status).toBe(404);
  });
});
