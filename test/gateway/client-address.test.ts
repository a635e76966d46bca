import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { Agent, routeAgentRequest, type Connection, type ConnectionContext, type HearthServer, type WorkerFetch } from "../../src/index.ts";
import { externalIPv4, rawRequest } from "./raw-http.ts";
import { startedServers } from "./started-servers.ts";

class Probe extends Agent {
  onRequest(request: Request) {
    return Response.json({ ip: request.headers.get("cf-connecting-ip") });
  }
  onConnect(conn: Connection, ctx: ConnectionContext) {
    conn.send(JSON.stringify({ type: "ip", ip: ctx.request.headers.get("cf-connecting-ip") }));
  }
}

/** Answers with the CF-Connecting-IP the worker sees (what a rate limit would be keyed by); the agents under /agents. */
const worker: WorkerFetch = async (request, env) => (await routeAgentRequest(request, env)) ?? Response.json({ ip: request.headers.get("cf-connecting-ip") });

const startServer = startedServers();

async function start(hostname = "127.0.0.1"): Promise<HearthServer> {
  return startServer({ Probe }, { hostname, fetch: worker });
}

async function ipSeen(address: string, port: number, path: string, headers: Array<[string, string]>): Promise<string | null> {
  const response = await rawRequest(address, port, path, [["Host", "app.example.com"], ...headers]);
  expect(response.status).toBe(200);
  return (JSON.parse(response.body) as { ip: string | null }).ip;
}

const SPOOFED: Array<[string, string]> = [
  ["CF-Connecting-IP", "203.0.113.66"],
  ["X-Real-IP", "203.0.113.77"],
  ["X-Forwarded-For", "203.0.113.88, 10.0.0.1"],
];

describe("CF-Connecting-IP", () => {
  it.skipIf(externalIPv4() === undefined)("is the TCP peer's address, whatever a client that is not loopback sends", async () => {
    const server = await start("0.0.0.0");
    const address = externalIPv4()!;
    for (const path of ["/ip", "/agents/probe/a"]) {
      expect(await ipSeen(address, server.port, path, [])).toBe(address);
      expect(await ipSeen(address, server.port, path, SPOOFED)).toBe(address);
      expect(await ipSeen(address, server.port, path, [["cf-connecting-ip", "203.0.113.1"], ["CF-Connecting-IP", "203.0.113.2"]])).toBe(address);
    }
  });

  it("from a loopback peer (a local proxy): its CF-Connecting-IP, else X-Real-IP, else X-Forwarded-For, else the peer", async () => {
    const server = await start();
    for (const path of ["/ip", "/agents/probe/b"]) {
      expect(await ipSeen("127.0.0.1", server.port, path, [])).toBe("127.0.0.1");
      expect(await ipSeen("127.0.0.1", server.port, path, SPOOFED)).toBe("203.0.113.66");
      expect(await ipSeen("127.0.0.1", server.port, path, SPOOFED.slice(1))).toBe("203.0.113.77");
      expect(await ipSeen("127.0.0.1", server.port, path, SPOOFED.slice(2))).toBe("203.0.113.88");
      expect(await ipSeen("127.0.0.1", server.port, path, [["X-Forwarded-For", " , "]])).toBe("127.0.0.1");
      // Two of them: one value, the first.
      expect(await ipSeen("127.0.0.1", server.port, path, [["CF-Connecting-IP", "203.0.113.1"], ["cf-connecting-ip", "203.0.113.2"]])).toBe("203.0.113.1");
    }
  });

  it("from ::1 too, and on a WebSocket's request", async () => {
    const server = await start("::1");
    expect(await ipSeen("::1", server.port, "/ip", [])).toBe("::1");
    const ipOf = async (url: string, headers: Record<string, string>): Promise<string> => {
      const socket = new WebSocket(url, { headers });
      const ip = await new Promise<string>((resolve, reject) => {
        socket.on("message", (data: Buffer) => {
          const parsed = JSON.parse(data.toString()) as { type?: string; ip?: string };
          if (parsed.type === "ip") resolve(parsed.ip!);
        });
        socket.on("error", reject);
      });
      socket.close();
      return ip;
    };
    const ws = server.url.replace(/^http/, "ws");
    expect(await ipOf(`${ws}/agents/probe/c`, {})).toBe("::1");
    expect(await ipOf(`${ws}/agents/probe/c`, { "x-forwarded-for": "2001:db8::5" })).toBe("2001:db8::5");
  });

  it.skipIf(externalIPv4() === undefined)("is the peer's on a WebSocket from a peer that is not loopback", async () => {
    const server = await start("0.0.0.0");
    const socket = new WebSocket(`ws://${externalIPv4()}:${server.port}/agents/probe/d`, { headers: { "cf-connecting-ip": "203.0.113.66" } });
    const ip = await new Promise<string>((resolve, reject) => {
      socket.on("message", (data: Buffer) => {
        const parsed = JSON.parse(data.toString()) as { type?: string; ip?: string };
        if (parsed.type === "ip") resolve(parsed.ip!);
      });
      socket.on("error", reject);
    });
    socket.close();
    expect(ip).toBe(externalIPv4());
  });
});
