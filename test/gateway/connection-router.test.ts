import { mkdtempSync, rmSync } from "node:fs";
import { Agent as HttpAgent, createServer, get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { routeConnections } from "../../src/gateway/connection-router.ts";
import { serve } from "../../src/gateway/serve.ts";
import { ActorHost as Host } from "../../src/host/host.ts";
import { requestTarget } from "../../src/gateway/connection-transfer.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Writes `text` on a new connection to `port` and returns all that comes back until it closes. */
function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const socket = connect(port, "127.0.0.1", () => socket.write(text));
    socket.setEncoding("utf8").on("data", (chunk: string) => (got += chunk));
    socket.on("end", () => resolve(got)).on("error", reject);
  });
}

describe("the target of a connection's first request", () => {
  it("is read from a complete request line in origin form only", () => {
    expect(requestTarget(Buffer.from("GET /agents/room/a?x=1 HTTP/1.1\r\nhost: x\r\n\r\n"))).toBe("/agents/room/a?x=1");
    expect(requestTarget(Buffer.from("POST /agents/room/a HTTP/1.1\r\n"))).toBe("/agents/room/a");
    expect(requestTarget(Buffer.from("GET /agents/room/a HTTP/1.1"))).toBeUndefined(); // the line goes on in the next bytes
    expect(requestTarget(Buffer.from("GET http://example.com/agents/room/a HTTP/1.1\r\n"))).toBeUndefined();
    expect(requestTarget(Buffer.from("OPTIONS * HTTP/1.1\r\n"))).toBeUndefined();
    expect(requestTarget(Buffer.from("\r\n"))).toBeUndefined();
    expect(requestTarget(Buffer.from("garbage\r\n"))).toBeUndefined();
  });
});

describe("routing connections by their first request", () => {
  it("gives the HTTP server what it keeps, and what could not move, as if it had accepted them", async () => {
    const targets: string[] = [];
    const http = createServer((request, response) => response.end(`here ${request.url}`));
    const front = routeConnections(http, (target) => {
      targets.push(target);
      return target.startsWith("/elsewhere/")
        ? () => {
            throw new Error("the other thread is gone");
          }
        : undefined;
    });
    await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => (http.closeAllConnections(), front.close(resolve))));
    const port = (front.address() as AddressInfo).port;
    expect(await exchange(port, "GET /kept HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")).toMatch(/^HTTP\/1\.1 200 [\s\S]*here \/kept$/);
    expect(await exchange(port, "GET /elsewhere/a HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")).toMatch(/here \/elsewhere\/a$/);
    // Two requests on one connection: routed by the first alone.
    const both = await exchange(port, "GET /one HTTP/1.1\r\nhost: x\r\n\r\nGET /two HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    expect(both).toMatch(/here \/one[\s\S]*here \/two$/);
    expect(targets).toEqual(["/kept", "/elsewhere/a", "/one"]);
  });

  it("closes a connection that sends nothing within the HTTP server's time for headers", async () => {
    const http = createServer((_request, response) => response.end("never"));
    http.headersTimeout = 200;
    const front = routeConnections(http, () => undefined);
    await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => front.close(resolve)));
    expect(await exchange((front.address() as AddressInfo).port, "")).toBe("");
  });
});

describe("a server whose connections are routed", () => {
  it("closes its kept-alive connections when it closes (its HTTP server tracks what the router gives it)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-router-"));
    const host = new Host({ dataDir, agents: {} });
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }), () => host.close());
    const server = await serve({ host, port: 0, handOff: { take: () => false, connectionFor: () => undefined } });
    const agent = new HttpAgent({ keepAlive: true });
    cleanups.push(() => agent.destroy());
    const status = await new Promise<number>((resolve, reject) => {
      get(`${server.url}/nothing-here`, { agent }, (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
      }).on("error", reject);
    });
    expect(status).toBe(404);
    const closed = await Promise.race([server.close().then(() => "closed"), new Promise((resolve) => setTimeout(() => resolve("still open after 3 s"), 3_000))]);
    expect(closed).toBe("closed");
  });
});
