import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { externalIPv4, rawRequest } from "../gateway/raw-http.ts";
import { cleanup, requireBuild, runCli, tempDir, type CliProcess } from "./helpers.ts";

const APP = join("test", "cli", "fixtures", "edge-app.ts");
/** What the fixture's `/boom` throws: nothing of it may reach a client of `hearth start`. */
const SECRET = "connection to db://admin:hunter2@10.0.0.5 refused";
const NOT_A_RESPONSE = "Incorrect type for Promise: the Promise did not resolve to 'Response'.";

interface Seen {
  url: string;
  ip: string | null;
  thread: number;
}

/** GETs over one kept-alive connection (so a request for another thread's agent is handed over, not moved). */
function oneConnection(base: string): { get(path: string, headers?: Record<string, string>): Promise<{ status: number; body: string }>; close(): void } {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  return {
    get: (path, headers = {}) =>
      new Promise((resolve, reject) => {
        const request = httpRequest(new URL(path, base), { agent, headers }, (response) => {
          let body = "";
          response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
        });
        request.on("error", reject);
        request.end();
      }),
    close: () => agent.destroy(),
  };
}

async function start(args: string[], command = "start"): Promise<{ cli: CliProcess; url: string; port: number }> {
  const cli = runCli([command, APP, "--port", "0", "--data", await tempDir(), ...args]);
  const url = await cli.ready();
  return { cli, url, port: Number(new URL(url).port) };
}

/** Room names spread over the threads: each thread's index (by Node's threadId, in order) → names it owns. */
async function namesByThread(url: string): Promise<Map<number, string[]>> {
  const byThread = new Map<number, string[]>();
  for (let i = 0; i < 12; i++) {
    const name = `room-${i}`;
    const seen = (await (await fetch(`${url}/agents/room/${name}`, { headers: { connection: "close" } })).json()) as Seen;
    byThread.set(seen.thread, [...(byThread.get(seen.thread) ?? []), name]);
  }
  return byThread;
}

let running: CliProcess | undefined;
beforeAll(() => requireBuild());
afterEach(async () => {
  running?.proc.kill("SIGTERM");
  await running?.exited();
  running = undefined;
});
afterAll(() => cleanup());

describe("what a worker sees of the client under hearth start", () => {
  it("request.url has the Host and the scheme a local proxy reports, on every thread", async () => {
    for (const threads of ["1", "2"]) {
      const { cli, url, port } = await start(["--threads", threads]);
      running = cli;
      const proxied = [["Host", "app.example.com"], ["X-Forwarded-Proto", "https"]] as Array<[string, string]>;
      const direct = JSON.parse((await rawRequest("127.0.0.1", port, "/url", proxied)).body) as Seen;
      expect(direct.url).toBe("https://app.example.com/url");
      const byThread = await namesByThread(url);
      expect(byThread.size).toBe(Number(threads));
      // Over one connection: requests for the other thread's agents are handed over, with the URL seen where they arrived.
      const connection = oneConnection(url);
      for (const names of byThread.values()) {
        for (const name of names) {
          const response = await connection.get(`/agents/room/${name}?q=1`, { host: "app.example.com", "x-forwarded-proto": "https" });
          expect((JSON.parse(response.body) as Seen).url).toBe(`https://app.example.com/agents/room/${name}?q=1`);
        }
      }
      connection.close();
      cli.proc.kill("SIGTERM");
      await cli.exited();
      running = undefined;
    }
  });

  it("an exception answers a generic 500 with the request id, on every thread, and is logged in full (the URL's password redacted)", async () => {
    const { cli, url } = await start(["--threads", "2"]);
    running = cli;
    const byThread = await namesByThread(url);
    const connection = oneConnection(url);
    let n = 0;
    for (const path of ["/boom", ...[...byThread.values()].map((names) => `/agents/room/${names[0]}/boom`)]) {
      const id = `req-boom-${n++}`;
      const response = await connection.get(path, { "x-request-id": id });
      expect(response.status).toBe(500);
      expect(JSON.parse(response.body)).toEqual({ error: "Internal Server Error", requestId: id });
      // The log line with that id has the whole error, but for the password in its URL.
      const line = await cli.waitFor(new RegExp(`\\{[^\\n]*"requestId":"${id}"[^\\n]*\\}`));
      expect(line[0]).toContain("connection to db://admin:[Redacted]@10.0.0.5 refused");
      expect(line[0]).not.toContain("hunter2");
    }
    // Without an id from the client: the one Hearth made, which the log line carries too.
    const response = await connection.get("/boom");
    const { requestId } = JSON.parse(response.body) as { requestId: string };
    expect(typeof requestId).toBe("string");
    expect(response.body).not.toContain("hunter2");
    await cli.waitFor(new RegExp(`"requestId":"${requestId}"[^\\n]*admin:\\[Redacted\\]@|admin:\\[Redacted\\]@[^\\n]*"requestId":"${requestId}"`));
    connection.close();
  });
});

describe("CF-Connecting-IP under hearth start --threads 2", () => {
  it.skipIf(externalIPv4() === undefined)("is the peer's address on every thread, over moved connections and requests handed over", async () => {
    const { cli, port } = await start(["--threads", "2", "--host", "0.0.0.0"]);
    running = cli;
    const loopback = `http://127.0.0.1:${port}`;
    const external = externalIPv4()!;
    const byThread = await namesByThread(loopback);
    expect(byThread.size).toBe(2);
    const spoofed: Record<string, string> = { "cf-connecting-ip": "203.0.113.66", "x-real-ip": "203.0.113.77", "x-forwarded-for": "203.0.113.88" };
    const direct = oneConnection(`http://${external}:${port}`);
    const proxied = oneConnection(loopback);
    for (const names of byThread.values()) {
      for (const name of names.slice(0, 3)) {
        const path = `/agents/room/${name}`;
        // A new connection each time: moved to the agent's thread before anything is parsed.
        const fresh = await rawRequest(external, port, path, [["Host", "app.example.com"], ...Object.entries(spoofed)]);
        expect((JSON.parse(fresh.body) as Seen).ip).toBe(external);
        // One connection for all: the other thread's agents get the request handed over.
        expect((JSON.parse((await direct.get(path, spoofed)).body) as Seen).ip).toBe(external);
        // From loopback (a local proxy): the first address it forwards.
        expect((JSON.parse((await proxied.get(path, { "x-forwarded-for": "198.51.100.7, 10.0.0.1" })).body) as Seen).ip).toBe("198.51.100.7");
      }
    }
    direct.close();
    proxied.close();
  });
});

describe("a fetch handler that gives something other than a Response", () => {
  it("answers 500 and logs workerd's TypeError, on one thread and on two", async () => {
    for (const threads of ["1", "2"]) {
      const { cli, url } = await start(["--threads", threads]);
      running = cli;
      const byThread = await namesByThread(url);
      const connection = oneConnection(url);
      const paths = ["/not-response", ...[...byThread.values()].map((names) => `/agents/room/${names[0]}/not-response`)];
      for (const path of paths) {
        const response = await connection.get(path);
        expect(response.status, path).toBe(500);
        expect((JSON.parse(response.body) as { error: string }).error).toBe("Internal Server Error");
      }
      // Still serving on the same connection.
      expect((await connection.get("/fine")).status).toBe(200);
      connection.close();
      await cli.waitFor(new RegExp(`(?:${NOT_A_RESPONSE.replace(/[.()']/g, "\\$&")}[^]*){${paths.length}}`));
      cli.proc.kill("SIGTERM");
      await cli.exited();
      running = undefined;
    }
  });
});

describe("hearth dev", () => {
  it("shows an exception's message in its 500", async () => {
    const { cli, url } = await start([], "dev");
    running = cli;
    const response = await fetch(`${url}/boom`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: SECRET });
    const notResponse = await fetch(`${url}/not-response`);
    expect(notResponse.status).toBe(500);
    expect(await notResponse.json()).toEqual({ error: NOT_A_RESPONSE });
  });

  it("shows it on every thread (--threads 2), and logs every thread's lines as dev does", async () => {
    const { cli, url } = await start(["--threads", "2"], "dev");
    running = cli;
    const byThread = await namesByThread(url);
    expect(byThread.size).toBe(2);
    const connection = oneConnection(url);
    for (const names of byThread.values()) {
      const response = await connection.get(`/agents/room/${names[0]}/boom`);
      expect(response.status).toBe(500);
      expect(JSON.parse(response.body)).toEqual({ error: SECRET });
    }
    connection.close();
    // Coloured lines, not a thread's JSON records, in dev's output.
    expect(cli.output()).not.toMatch(/^\{"level":/m);
  });
});
