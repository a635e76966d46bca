import { request as httpRequest } from "node:http";
import { describe, expect, it } from "vitest";
import { Agent, Host, LIMITS, routeAgentRequest, serve, type HearthServer, type WorkerFetch } from "../../src/index.ts";
import { tempDir } from "../support/harness.ts";
import { loggedErrors } from "../support/logged-errors.ts";
import { rawExchange } from "./raw-http.ts";
import { startedServers } from "./started-servers.ts";

const LIMIT = 64 * 1024;

class Upload extends Agent {
  async onRequest(request: Request): Promise<Response> {
    const bytes = await request.arrayBuffer();
    return Response.json({ agent: this.name, bytes: bytes.byteLength });
  }
}

/** Counts what the handlers got: a body past the limit must never be read whole. */
let bytesRead = 0;

const worker: WorkerFetch = async (request, env) => {
  const agent = await routeAgentRequest(request, env);
  if (agent) return agent;
  const bytes = await request.arrayBuffer(); // throws past the limit: a 500 the server turns into 413
  bytesRead += bytes.byteLength;
  return Response.json({ bytes: bytes.byteLength });
};

const startServer = startedServers();

/** A server whose body limit is LIMIT, or serve()'s default. */
async function start(maxRequestBodyBytes: number | "default" = LIMIT): Promise<HearthServer> {
  return startServer({ Upload }, { fetch: worker, ...(maxRequestBodyBytes === "default" ? {} : { maxRequestBodyBytes }) });
}

/** Sends a chunked POST of `total` bytes in 16 KiB chunks (stopping when the server answers) and returns the answer. */
function chunkedPost(server: HearthServer, path: string, total: number): Promise<{ status: number; body: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${server.url}${path}`, { method: "POST", headers: { "transfer-encoding": "chunked" } });
    let sent = 0;
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    const pump = () => {
      while (sent < total && !request.destroyed) {
        sent += chunk.length;
        if (!request.write(chunk)) return void request.once("drain", pump);
      }
      if (!request.destroyed) request.end();
    };
    request.on("response", (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (part: string) => (body += part));
      response.on("end", () => resolve({ status: response.statusCode!, body, connection: response.headers.connection }));
    });
    request.on("error", reject);
    pump();
  });
}

describe("the request body limit", () => {
  it("is 100 MiB by default, as Cloudflare's, and refuses a larger declared length at once with 413", async () => {
    expect(LIMITS.maxRequestBodyBytes).toBe(100 * 1024 * 1024);
    const server = await start("default");
    // Only the head is sent: the answer comes without waiting for the body.
    const answer = (await rawExchange(server.port, `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n`)).toString("latin1");
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toMatch(/connection: close/i);
    expect(answer).toContain(`Request body too large: 999999999999 bytes, more than the limit of ${100 * 1024 * 1024} bytes (maxRequestBodyBytes)`);
  });

  it("fails a chunked body's read past the limit and answers 413, for the worker and for an agent; the connection is closed", async () => {
    const server = await start();
    const errors = loggedErrors();
    try {
      bytesRead = 0;
      const plain = await chunkedPost(server, "/upload", 4 * LIMIT);
      expect(plain.status).toBe(413);
      expect(plain.connection).toBe("close");
      expect(JSON.parse(plain.body)).toEqual({ error: `Request body too large: larger than the limit of ${LIMIT} bytes (maxRequestBodyBytes)` });
      expect(bytesRead).toBe(0);

      const agent = await chunkedPost(server, "/agents/upload/a", 4 * LIMIT);
      expect(agent.status).toBe(413);
      expect(agent.body).toContain("(maxRequestBodyBytes)");
    } finally {
      errors.restore();
    }
    // Up to the limit, a chunked body is read whole, by the worker and by an agent.
    expect(JSON.parse((await chunkedPost(server, "/upload", LIMIT)).body)).toEqual({ bytes: LIMIT });
    expect(JSON.parse((await chunkedPost(server, "/agents/upload/a", LIMIT)).body)).toEqual({ agent: "a", bytes: LIMIT });
  });

  it("takes a declared length up to the limit, and the option must be a whole number of bytes", async () => {
    const server = await start();
    const response = await fetch(`${server.url}/upload`, { method: "POST", body: new Uint8Array(LIMIT) });
    expect(await response.json()).toEqual({ bytes: LIMIT });
    const refused = await rawExchange(server.port, `POST /agents/upload/b HTTP/1.1\r\nHost: x\r\nContent-Length: ${LIMIT + 1}\r\n\r\n`);
    expect(refused.toString("latin1")).toMatch(/^HTTP\/1\.1 413 [^]*more than the limit of 65536 bytes/);
    const dir = tempDir();
    const host = new Host({ dataDir: dir.path, agents: {} });
    await expect(serve({ host, port: 0, maxRequestBodyBytes: -1 })).rejects.toThrow("maxRequestBodyBytes must be a whole number of bytes");
    await host.close();
    dir.remove();
  });
});
