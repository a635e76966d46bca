import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { Agent, Host, routeAgentRequest, serve, type Connection, type ConnectionContext, type WorkerFetch } from "../../src/index.ts";
import { startHarness, tempDir as makeTempDir, type Harness } from "../support/harness.ts";
import { externalIPv4, rawRequest } from "./raw-http.ts";

class Probe extends Agent {
  onRequest(request: Request) {
    return Response.json({ url: request.url });
  }
  onConnect(conn: Connection, ctx: ConnectionContext) {
    conn.send(JSON.stringify({ type: "url", url: ctx.request.url }));
  }
}

/** Answers with the URL the worker sees; the agents under /agents. */
const worker: WorkerFetch = async (request, env) => (await routeAgentRequest(request, env)) ?? Response.json({ url: request.url });

let harness: Harness | undefined;
let tempDir = makeTempDir();
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  tempDir.remove();
  tempDir = makeTempDir();
});

async function urlSeen(host: string, port: number, target: string, headers: Array<[string, string]>): Promise<string> {
  const response = await rawRequest(host, port, target, headers);
  expect(response.status).toBe(200);
  return (JSON.parse(response.body) as { url: string }).url;
}

describe("request.url", () => {
  it("is the URL the client asked for: its Host header, https when a local proxy says so", async () => {
    harness = await startHarness({ Probe }, { fetch: worker });
    const { port } = harness.server;
    expect(await urlSeen("127.0.0.1", port, "/url?q=1", [["Host", "app.example.com"]])).toBe("http://app.example.com/url?q=1");
    expect(await urlSeen("127.0.0.1", port, "/url", [["Host", "app.example.com"], ["X-Forwarded-Proto", "https"]])).toBe("https://app.example.com/url");
    expect(await urlSeen("127.0.0.1", port, "/url", [["Host", "App.Example.com:8443"], ["X-Forwarded-Proto", "HTTPS, http"]])).toBe("https://app.example.com:8443/url");
    expect(await urlSeen("127.0.0.1", port, "/url", [["Host", "app.example.com"], ["X-Forwarded-Proto", "http"]])).toBe("http://app.example.com/url");
    expect(await urlSeen("127.0.0.1", port, "/url", [["Host", "[::1]:9000"]])).toBe("http://[::1]:9000/url");
    // fetch sends the address it connects to: unchanged.
    expect(((await (await fetch(`${harness.url}/url`)).json()) as { url: string }).url).toBe(`${harness.url}/url`);
  });

  it("falls back to the listen address for a missing or invalid Host, and routing still works", async () => {
    harness = await startHarness({ Probe }, { fetch: worker });
    const { port } = harness.server;
    const listen = harness.url;
    const hostile = ["", "evil example", "user@evil.example", "evil.example/path", "evil.example?x", "evil.example#x", "x".repeat(5000), "a:99999", "foo.123", "[zz]", "evil.example:", "%41.example"];
    for (const host of hostile) {
      expect(await urlSeen("127.0.0.1", port, "/url", [["Host", host]])).toBe(`${listen}/url`);
      expect(await urlSeen("127.0.0.1", port, "/agents/probe/a", [["Host", host]])).toBe(`${listen}/agents/probe/a`);
    }
    expect(await urlSeen("127.0.0.1", port, "/agents/probe/b?x=1", [["Host", "app.example.com"], ["X-Forwarded-Proto", "https"]])).toBe("https://app.example.com/agents/probe/b?x=1");
  });

  it("takes only the path and query of an absolute-form target: a client cannot name another host or scheme", async () => {
    harness = await startHarness({ Probe }, { fetch: worker });
    const { port } = harness.server;
    const host: Array<[string, string]> = [["Host", "app.example.com"]];
    expect(await urlSeen("127.0.0.1", port, "https://bank.example/info?a=1", host)).toBe("http://app.example.com/info?a=1");
    expect(await urlSeen("127.0.0.1", port, "HTTP://other.example:99/agents/probe/a", host)).toBe("http://app.example.com/agents/probe/a");
    expect(await urlSeen("127.0.0.1", port, "http://other.example?x=1", host)).toBe("http://app.example.com/?x=1");
    // The scheme still comes from a local proxy's word only.
    expect(await urlSeen("127.0.0.1", port, "http://other.example/info", [...host, ["X-Forwarded-Proto", "https"]])).toBe("https://app.example.com/info");
    for (const target of ["ftp://files.example/x", "ws://other.example/agents/probe/a"]) {
      const response = await rawRequest("127.0.0.1", port, target, host);
      expect(response.status, target).toBe(400);
      expect(response.body).toContain("the request target must be a path or an http(s) URL");
    }
  });

  it("gives a WebSocket's agent the URL the client asked for", async () => {
    harness = await startHarness({ Probe }, { fetch: worker });
    const urlOf = async (headers: Record<string, string>): Promise<string> => {
      const socket = new WebSocket(`${harness!.wsUrl}/agents/probe/ws`, { headers });
      const frame = await new Promise<string>((resolve, reject) => {
        socket.on("message", (data: Buffer) => {
          const parsed = JSON.parse(data.toString()) as { type?: string; url?: string };
          if (parsed.type === "url") resolve(parsed.url!);
        });
        socket.on("error", reject);
      });
      socket.close();
      return frame;
    };
    expect(await urlOf({})).toBe(`${harness.url}/agents/probe/ws`);
    expect(await urlOf({ host: "app.example.com", "x-forwarded-proto": "https" })).toBe("https://app.example.com/agents/probe/ws");
    expect(await urlOf({ host: "evil example" })).toBe(`${harness.url}/agents/probe/ws`);
  });

  it.skipIf(externalIPv4() === undefined)("ignores X-Forwarded-Proto from a peer that is not loopback", async () => {
    const host = new Host({ dataDir: tempDir.path, agents: { Probe } });
    const server = await serve({ host, port: 0, hostname: "0.0.0.0", fetch: worker });
    try {
      const address = externalIPv4()!;
      expect(await urlSeen(address, server.port, "/url", [["Host", "app.example.com"], ["X-Forwarded-Proto", "https"]])).toBe("http://app.example.com/url");
      expect(await urlSeen(address, server.port, "/url", [["Host", "bad host"]])).toBe(`http://0.0.0.0:${server.port}/url`);
      // From loopback, the same server takes the proxy's word.
      expect(await urlSeen("127.0.0.1", server.port, "/url", [["Host", "app.example.com"], ["X-Forwarded-Proto", "https"]])).toBe("https://app.example.com/url");
    } finally {
      await server.close();
      await host.close();
    }
  });
});
