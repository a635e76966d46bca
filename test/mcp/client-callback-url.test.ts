// Where the OAuth redirect URI points. It is taken from the request (or WebSocket) whose event calls
// addMcpServer — never from another client's request, whose Host header that client chooses — else
// from callbackHost or HEARTH_PUBLIC_URL; with none of them an OAuth server fails with a message
// asking for callbackHost. With sendIdentityOnConnect: false, callbackHost needs a callbackPath.
import { request as httpRequest } from "node:http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { callable } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { TestSocket } from "../support/harness.ts";
import { startOAuthServer, type OAuthServer } from "../support/oauth-server.ts";
import { Assistant } from "./fixtures/remote-assistant.ts";
import { startRemoteServer, type RemoteServer } from "./fixtures/remote-server.ts";

/** Mounts from its own request after an await (its database, an API), as apps do. */
export class Portal extends Assistant {
  async onRequest(request: Request): Promise<Response> {
    if (!new URL(request.url).pathname.endsWith("/connect")) return new Response("nope", { status: 404 });
    const { target } = (await request.json()) as { target: string };
    await new Promise((resolve) => setTimeout(resolve, 300));
    return Response.json(await this.addMcpServer("protected", target));
  }

  @callable() async connectOverSocket(target: string) {
    return this.addMcpServer("protected", target);
  }
}

/** Registers from an RPC; its HTTP route uses a server, which connects inside that request's event. */
export class Bystander extends Assistant {
  async onRequest(request: Request): Promise<Response> {
    if (!new URL(request.url).pathname.endsWith("/use")) return new Response("nope", { status: 404 });
    return Response.json(await this.attempt("docs", "echo", { text: "hi" }));
  }

  async register(url: string) {
    return this.mcp.registerServer("docs", { url, name: "Docs" });
  }
}

/** Hides its instance name from clients. */
export class Private extends Assistant {
  static options = { sendIdentityOnConnect: false };
}

let as: OAuthServer;
let remote: RemoteServer;
let t: TestEnv;

beforeEach(async () => {
  as = await startOAuthServer();
  remote = await startRemoteServer({ auth: { issuer: as.url, jwksUrl: as.jwksUrl, isActive: (token) => as.isActive(token) } });
  t = await createTestEnv({ agents: { Portal, Private, Bystander }, time: "system" });
});

afterEach(async () => {
  await t.close();
  await remote.close();
  await as.close();
});

/** A GET with a Host header of the sender's choosing. */
function getWithHost(path: string, host: string): Promise<number> {
  return sendWithHost(path, host).then((answer) => answer.status);
}

function sendWithHost(path: string, host: string): Promise<{ status: number; body: string }> {
  return t.url().then(
    (base) =>
      new Promise((resolve, reject) => {
        const request = httpRequest({ host: "127.0.0.1", port: Number(new URL(base).port), path, method: "GET", headers: { host } }, (response) => {
          let body = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => (body += chunk));
          response.on("end", () => resolve({ status: response.statusCode!, body }));
        });
        request.on("error", reject);
        request.end();
      }),
  );
}

const redirectUriOf = (authUrl: string) => new URL(authUrl).searchParams.get("redirect_uri");

describe("the redirect URI", () => {
  it("comes from the caller's own request, whatever another client sends while it awaits", async () => {
    const mounting = t.fetch("/agents/portal/dana/connect", { method: "POST", body: JSON.stringify({ target: remote.url }) });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await getWithHost("/agents/portal/dana/anything", "evil.example")).toBe(404);
    const body = (await (await mounting).json()) as { state: string; authUrl: string };
    expect(body.state).toBe("authenticating");
    expect(redirectUriOf(body.authUrl)).toBe(`${await t.url()}/agents/portal/dana/callback`);
  });

  it("comes from the WebSocket a callable method was called on", async () => {
    const socket = await TestSocket.open(`${(await t.url()).replace(/^http/, "ws")}/agents/portal/erin`);
    const reply = await socket.call("connectOverSocket", [remote.url]);
    socket.close();
    expect(reply).toMatchObject({ success: true, result: { state: "authenticating" } });
    const { authUrl } = (reply as { result: { authUrl: string } }).result;
    expect(redirectUriOf(authUrl)).toBe(`${await t.url()}/agents/portal/erin/callback`);
  });

  it("is never taken from an earlier request of someone else: a mount outside any request needs callbackHost", async () => {
    expect(await getWithHost("/agents/portal/carol/anything", "evil.example")).toBe(404);
    const agent = t.get<Portal>("Portal", "carol");
    const outcome = await agent.tryMount("protected", remote.url);
    expect(outcome).toMatchObject({ ok: false, error: expect.stringMatching(/Provide callbackHost in addMcpServer options/) });
    expect((outcome as { error: string }).error).not.toContain("evil.example");

    const withHost = await agent.mount("protected-2", remote.url, { callbackHost: "https://app.example" });
    expect(redirectUriOf((withHost as { authUrl: string }).authUrl)).toBe("https://app.example/agents/portal/carol/callback");
  });

  it("follows callbackHost given on a second add of the same name and URL, after the first failed for want of it", async () => {
    const agent = t.get<Portal>("Portal", "fay");
    const first = await agent.tryMount("protected", remote.url);
    expect(first).toMatchObject({ ok: false, error: expect.stringMatching(/Provide callbackHost in addMcpServer options/) });
    const second = await agent.tryMount("protected", remote.url, { callbackHost: "https://app.example" });
    expect(second).toMatchObject({ ok: true, id: (first as { serverId: string }).serverId, state: "authenticating" });
    expect(redirectUriOf((second as { authUrl: string }).authUrl)).toBe("https://app.example/agents/portal/fay/callback");
  });

  it("is not taken from another client's request that a connection happens to start in", async () => {
    const agent = t.get<Bystander>("Bystander", "gus");
    await agent.register(remote.url);
    const used = await sendWithHost("/agents/bystander/gus/use", "evil.example");
    expect(JSON.parse(used.body)).toMatchObject({ ok: false });
    const server = (await agent.servers()).servers.docs!;
    expect(server.auth_url).toBeNull();
    expect(server.error).toMatch(/Provide callbackHost in addMcpServer options/);
  });
});

describe("sendIdentityOnConnect: false", () => {
  it("refuses callbackHost without callbackPath, which would put the instance name in the redirect URI", async () => {
    const agent = t.get<Private>("Private", "secret-tenant-4711");
    const refused = await agent.tryMount("protected", remote.url, { callbackHost: "https://app.example" });
    expect(refused).toMatchObject({ ok: false, error: expect.stringContaining("callbackPath is required in addMcpServer options when sendIdentityOnConnect is false") });
    expect((await agent.servers()).servers).toEqual({});

    const mounted = await agent.mount("protected", remote.url, { callbackHost: "https://app.example", callbackPath: "/oauth/done" });
    expect(redirectUriOf((mounted as { authUrl: string }).authUrl)).toBe("https://app.example/oauth/done");
  });

  it("holds to it when the same name and URL are added again", async () => {
    const agent = t.get<Private>("Private", "secret-tenant-4712");
    expect(await agent.tryMount("protected", remote.url)).toMatchObject({ ok: false, error: expect.stringMatching(/Provide callbackHost/) });
    const refused = await agent.tryMount("protected", remote.url, { callbackHost: "https://app.example" });
    expect(refused).toMatchObject({ ok: false, error: expect.stringContaining("callbackPath is required") });
    const mounted = await agent.mount("protected", remote.url, { callbackHost: "https://app.example", callbackPath: "/oauth/done" });
    expect(redirectUriOf((mounted as { authUrl: string }).authUrl)).toBe("https://app.example/oauth/done");
  });
});
