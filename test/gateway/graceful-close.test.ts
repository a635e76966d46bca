/**
 * A stopping server answers the requests in progress (within its grace) and closes idle keep-alive
 * connections at once; what is still open when the grace ends is cut. Real sockets on loopback.
 */
import { request as httpRequest, Agent as HttpAgent } from "node:http";
import { describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { startedServers } from "./started-servers.ts";

/** Released by the test: a request to /agents/slow/<name> waits for it. */
let release: () => void = () => {};
let started: () => void = () => {};

class Slow extends Agent {
  override async onRequest(): Promise<Response> {
    started();
    await new Promise<void>((resolve) => (release = resolve));
    return new Response("answered");
  }
}

const start = startedServers();

/** A GET on its own keep-alive agent: its status and body, or the socket's error code. */
function get(url: string, agent: HttpAgent): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    });
    req.on("error", (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end();
  });
}

describe("closing a server gracefully", () => {
  it("answers a request in progress, and closes once it is answered", async () => {
    const server = await start({ Slow });
    const agent = new HttpAgent({ keepAlive: true });
    const inProgress = new Promise<void>((resolve) => (started = resolve));
    const answer = get(`${server.url}/agents/slow/a`, agent);
    await inProgress;
    let closed = false;
    const closing = server.close({ graceMs: 30_000 }).then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false); // waits for the request, not for the grace to end
    release();
    expect(await answer).toEqual({ status: 200, body: "answered" });
    await closing; // the keep-alive connection, idle once answered, is closed then
    agent.destroy();
  });

  it("cuts what is still in progress when the grace ends", async () => {
    const server = await start({ Slow });
    const agent = new HttpAgent({ keepAlive: true });
    const inProgress = new Promise<void>((resolve) => (started = resolve));
    const answer = get(`${server.url}/agents/slow/b`, agent);
    await inProgress;
    await server.close({ graceMs: 100 });
    expect(await answer).toEqual({ error: "ECONNRESET" });
    release();
    agent.destroy();
  });

  it("cuts at once by default", async () => {
    const server = await start({ Slow });
    const agent = new HttpAgent({ keepAlive: true });
    const inProgress = new Promise<void>((resolve) => (started = resolve));
    const answer = get(`${server.url}/agents/slow/c`, agent);
    await inProgress;
    await server.close();
    expect(await answer).toEqual({ error: "ECONNRESET" });
    release();
    agent.destroy();
  });
});
