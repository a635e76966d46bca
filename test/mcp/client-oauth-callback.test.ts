// configureOAuthCallback as the Agents SDK documents it, through the real OAuth flow on loopback
// (test/support/oauth-server.ts): customHandler answers the callback (the agents-starter's page that
// closes the popup), redirects may be paths on the callback's origin, and callbackPath moves the
// callback to a route of the app's own.
import { afterEach, describe, expect, it } from "vitest";
import { Agent, routeAgentRequest } from "../../src/index.ts";
import type { AgentNamespace } from "../../src/host/namespace.ts";
import type { AddMcpServerOptions, McpOAuthResult } from "../../src/mcp/client/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { startOAuthServer, type OAuthServer } from "../support/oauth-server.ts";
import { startRemoteServer, type RemoteServer } from "./fixtures/remote-server.ts";

/** The instance name picks the configuration: "popup", "paths", "throws" or anything else (none). */
class Popup extends Agent<Record<string, unknown>> {
  results: McpOAuthResult[] = [];
  errors: string[] = [];

  override onError(connectionOrError: unknown, error?: unknown): void {
    this.errors.push(String((error ?? connectionOrError) as Error));
  }

  onStart() {
    if (this.name === "popup") {
      this.mcp.configureOAuthCallback({
        customHandler: (result) => {
          this.results.push(result);
          if (result.authSuccess) return new Response("<script>window.close();</script>", { headers: { "content-type": "text/html" } });
          return new Response(JSON.stringify({ success: false, error: result.authError }), { status: 400, headers: { "content-type": "application/json" } });
        },
      });
    } else if (this.name === "paths") {
      this.mcp.configureOAuthCallback({ successRedirect: "/settings?connected=1", errorRedirect: "/settings" });
    } else if (this.name === "throws") {
      this.mcp.configureOAuthCallback({
        customHandler: () => {
          throw new Error("handler broke");
        },
      });
    }
  }

  async onRequest(request: Request): Promise<Response> {
    const body = (await request.json()) as { url: string; options?: AddMcpServerOptions };
    return Response.json(await this.addMcpServer("protected", body.url, body.options));
  }

  handled() {
    return this.results;
  }

  /** registerServer with an exact callback URL, then connectToServer, as the Agents SDK's step-by-step flow. */
  async registerAt(url: string, callbackUrl: string) {
    await this.mcp.registerServer("stepwise", { url, name: "stepwise", callbackUrl });
    return this.mcp.connectToServer("stepwise");
  }

  reported() {
    return this.errors;
  }

  states() {
    return Object.values(this.getMcpServers().servers).map((s) => s.state);
  }

  configure(config: Record<string, unknown>) {
    try {
      this.mcp.configureOAuthCallback(config as never);
      return "ok";
    } catch (error) {
      return (error as Error).message;
    }
  }

  config() {
    const config = this.mcp.getOAuthCallbackConfig();
    return config === undefined ? null : Object.keys(config);
  }
}

let as: OAuthServer;
let remote: RemoteServer;
let t: TestEnv;

async function setup(autoApprove = true): Promise<void> {
  as = await startOAuthServer({ autoApprove });
  remote = await startRemoteServer({ auth: { issuer: as.url, jwksUrl: as.jwksUrl, isActive: (token) => as.isActive(token) } });
  t = await createTestEnv({
    agents: { Popup },
    time: "system",
    // The app routes its own callback path to the agent, as the Agents SDK asks for callbackPath.
    fetch: async (request, env) => {
      if (new URL(request.url).pathname === "/oauth/done") return (env.Popup as AgentNamespace<Popup>).getByName("own-path").fetch(request);
      return (await routeAgentRequest(request, env)) ?? new Response("not found", { status: 404 });
    },
  });
}

afterEach(async () => {
  await t.close();
  await remote.close();
  await as.close();
});

async function mount(name: string, options?: AddMcpServerOptions): Promise<{ id: string; authUrl: string }> {
  const response = await t.fetch(`/agents/popup/${name}/mount`, { method: "POST", body: JSON.stringify({ url: remote.url, options }) });
  const body = (await response.json()) as { id: string; state: string; authUrl: string };
  expect(body.state).toBe("authenticating");
  return body;
}

/** The browser: open the authorization URL and follow its redirect back to the agent. */
async function authorize(authUrl: string): Promise<Response> {
  const atServer = await fetch(authUrl, { redirect: "manual" });
  return fetch(atServer.headers.get("location")!, { redirect: "manual" });
}

async function waitFor(read: () => Promise<string[]>, state: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await read()).includes(state)) {
    if (Date.now() > deadline) throw new Error(`never ${state}: ${JSON.stringify(await read())}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("customHandler", () => {
  it("answers a successful callback with its own page (the popup closes), and the server becomes ready", async () => {
    await setup();
    const agent = t.get<Popup>("Popup", "popup");
    const { id, authUrl } = await mount("popup");
    const page = await authorize(authUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html");
    expect(await page.text()).toBe("<script>window.close();</script>");
    expect(await agent.handled()).toEqual([{ serverId: id, authSuccess: true }]);
    await waitFor(() => agent.states(), "ready");
  });

  it("gets failures too: a denied authorization with its server, an unknown state without", async () => {
    await setup(false);
    const agent = t.get<Popup>("Popup", "popup");
    const { id, authUrl } = await mount("popup");
    expect((await fetch(authUrl)).status).toBe(200); // the consent page
    const denied = await fetch(as.deny(as.pendingAuthorizations()[0]!.id));
    expect(denied.status).toBe(400);
    expect(JSON.parse(await denied.text())).toEqual({ success: false, error: expect.stringContaining("access_denied") });
    const unknown = await t.fetch("/agents/popup/popup/callback?state=nope&code=x");
    expect(unknown.status).toBe(400);
    const [first, second] = await agent.handled();
    expect(first).toMatchObject({ serverId: id, authSuccess: false, authError: expect.stringContaining("access_denied") });
    expect(second).toEqual({ authSuccess: false, authError: expect.stringContaining("Unknown or already used authorization state") });
    expect(await agent.states()).toEqual(["failed"]);
  });

  it("falls back to the default redirect when the handler throws, and finishes the authorization anyway", async () => {
    await setup();
    const agent = t.get<Popup>("Popup", "throws");
    const { authUrl } = await mount("throws");
    const page = await authorize(authUrl);
    expect(page.status).toBe(302);
    expect(page.headers.get("location")).toBe(`${await t.url()}/`);
    await waitFor(() => agent.states(), "ready");
    expect(await agent.reported()).toEqual(["Error: handler broke"]);
  });
});

describe("redirects and callbackPath", () => {
  it("redirects to paths on the callback's origin, the error with its reason", async () => {
    await setup(false);
    const agent = t.get<Popup>("Popup", "paths");
    const { authUrl } = await mount("paths");
    await fetch(authUrl);
    const denied = await fetch(as.deny(as.pendingAuthorizations()[0]!.id), { redirect: "manual" });
    expect(denied.status).toBe(302);
    const location = new URL(denied.headers.get("location")!);
    expect(location.origin).toBe(await t.url());
    expect(location.pathname).toBe("/settings");
    expect(location.searchParams.get("error")).toContain("access_denied");
    expect(await agent.config()).toEqual(["successRedirect", "errorRedirect"]);
  });

  it("sends the browser back to the origin it is on behind a proxy: the server's callbackHost, paths resolved against it", async () => {
    await setup(false);
    const viaProxy = async (location: string) => {
      const atProxy = new URL(location);
      expect(atProxy.origin).toBe("https://app.example");
      return t.fetch(`${atProxy.pathname}${atProxy.search}`, { redirect: "manual" });
    };
    const plain = await mount("behind-proxy", { callbackHost: "https://app.example" });
    expect((await fetch(plain.authUrl)).status).toBe(200);
    const page = await viaProxy(as.approve(as.pendingAuthorizations()[0]!.id));
    expect(page.status).toBe(302);
    expect(page.headers.get("location")).toBe("https://app.example/");

    const paths = await mount("paths", { callbackHost: "https://app.example" });
    await fetch(paths.authUrl);
    const error = new URL((await viaProxy(as.deny(as.pendingAuthorizations().at(-1)!.id))).headers.get("location")!);
    expect(`${error.origin}${error.pathname}`).toBe("https://app.example/settings");
    expect(error.searchParams.get("error")).toContain("access_denied");
  });

  it("refuses redirects that are neither absolute http(s) URLs nor paths, and handlers that are not functions", async () => {
    await setup();
    const agent = t.get<Popup>("Popup", "none");
    expect(await agent.configure({ successRedirect: "settings" })).toMatch(/successRedirect must be an absolute http\(s\) URL or a path/);
    expect(await agent.configure({ errorRedirect: "javascript:alert(1)" })).toMatch(/errorRedirect must be/);
    expect(await agent.configure({ customHandler: "close" })).toMatch(/customHandler must be a function/);
    expect(await agent.config()).toBeNull();
  });

  it("uses callbackPath for the redirect URI, and answers the callback there", async () => {
    await setup();
    const agent = t.get<Popup>("Popup", "own-path");
    const { authUrl } = await mount("own-path", { callbackPath: "/oauth/done" });
    expect(new URL(authUrl).searchParams.get("redirect_uri")).toBe(`${await t.url()}/oauth/done`);
    const page = await authorize(authUrl);
    expect(page.status).toBe(302);
    await waitFor(() => agent.states(), "ready");
  });

  it("answers at the exact callbackUrl given to registerServer", async () => {
    await setup();
    const agent = t.get<Popup>("Popup", "own-path");
    const connected = await agent.registerAt(remote.url, `${await t.url()}/oauth/done`);
    expect(connected.state).toBe("authenticating");
    const authUrl = (connected as { authUrl: string }).authUrl;
    expect(new URL(authUrl).searchParams.get("redirect_uri")).toBe(`${await t.url()}/oauth/done`);
    expect((await authorize(authUrl)).status).toBe(302);
    await waitFor(() => agent.states(), "ready");
  });
});
