/**
 * Requests Node's HTTP server does not give its request listener as it gives the others, over real
 * sockets: an Upgrade other than WebSocket (`curl --http2` sends `h2c`), a WebSocket handshake without
 * `Connection: Upgrade`, `Expect: 100-continue` with a body past the limit, CONNECT and TRACE.
 */
import { describe, expect, it } from "vitest";
import { Agent, routeAgentRequest, type WorkerFetch } from "../../src/index.ts";
import { parseResponses, rawExchange } from "./raw-http.ts";
import { startedServers } from "./started-servers.ts";

const touched: string[] = [];

class Room extends Agent {
  onConnect(): void {
    touched.push("onConnect");
  }
  onRequest(): Response {
    touched.push("onRequest");
    return new Response("room");
  }
}

const worker: WorkerFetch = async (request, env) => {
  const agent = await routeAgentRequest(request, env);
  if (agent) return agent;
  const body = request.body ? await request.text() : "";
  return new Response(`${request.method} ${new URL(request.url).pathname} body=${body}`, { status: 201, statusText: "Made" });
};

const start = startedServers();
const answer = async (port: number, data: string) => parseResponses(await rawExchange(port, data));
const header = (lines: Array<[string, string]>, name: string) => lines.find(([key]) => key === name)?.[1];

describe("requests Node keeps from the request listener", () => {
  it("serves a request with an Upgrade other than WebSocket as a plain one, body and status intact", async () => {
    const server = await start({ Room }, { fetch: worker });
    const h2c = "Connection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA";
    const [get] = await answer(server.port, `GET /plain HTTP/1.1\r\nHost: x\r\n${h2c}\r\n\r\n`);
    expect(get!.status).toBe(201);
    expect(get!.body.toString()).toBe("GET /plain body=");
    const [post] = await answer(server.port, `POST /plain HTTP/1.1\r\nHost: x\r\n${h2c}\r\nContent-Length: 5\r\n\r\nhello`);
    expect(post!.status).toBe(201);
    expect(post!.body.toString()).toBe("POST /plain body=hello");
  });

  it("refuses a WebSocket handshake to an agent without Connection: Upgrade, before the agent sees it", async () => {
    const server = await start({ Room }, { fetch: worker });
    touched.length = 0;
    const [response] = await answer(server.port, "GET /agents/room/a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: close\r\n\r\n");
    expect(response!.status).toBe(400);
    expect(response!.body.toString()).toMatch(/needs Connection: Upgrade with Upgrade: websocket/);
    expect(header(response!.lines, "x-hearth-upgrade")).toBeUndefined();
    expect(touched).toEqual([]);
  });

  it("answers Expect: 100-continue with the 413 at once when the declared body is past the limit", async () => {
    const server = await start({ Room }, { fetch: worker, maxRequestBodyBytes: 10 });
    const refused = await rawExchange(server.port, "POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n");
    expect(refused.toString("latin1")).not.toMatch(/100 Continue/);
    expect(parseResponses(refused)[0]!.status).toBe(413);
    // Within the limit the client is told to go on, and the body (sent along here) arrives.
    const continued = await rawExchange(server.port, "POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
    expect(continued.toString("latin1")).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
    const [made] = parseResponses(continued.subarray(continued.indexOf("\r\n\r\n") + 4));
    expect(made!.status).toBe(201);
    expect(made!.body.toString()).toBe("POST /up body=hello");
  });

  it("answers CONNECT and TRACE with a 405 that says what is allowed", async () => {
    const server = await start({ Room }, { fetch: worker });
    const [connect] = await answer(server.port, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    expect(connect!.status).toBe(405);
    expect(header(connect!.lines, "allow")).toMatch(/GET/);
    const [trace] = await answer(server.port, "TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(trace!.status).toBe(405);
    expect(header(trace!.lines, "allow")).toMatch(/GET/);
  });
});
