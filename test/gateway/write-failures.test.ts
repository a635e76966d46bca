import { describe, expect, it } from "vitest";
import type { HearthServer, WorkerFetch } from "../../src/index.ts";
import { loggedErrors } from "../support/logged-errors.ts";
import { parseResponses, rawExchange } from "./raw-http.ts";
import { startedServers } from "./started-servers.ts";

const encoder = new TextEncoder();

const worker: WorkerFetch = (request) => {
  const path = new URL(request.url).pathname;
  // Headers fetch accepts and Node cannot write: control characters in a value.
  if (path === "/control") return new Response("x", { headers: { "x-bad": "a\x01b" } });
  if (path === "/delete") return new Response(new ReadableStream({ pull: (controller) => (controller.enqueue(encoder.encode("A")), controller.close()) }), { headers: { "x-bad": "a\x7fb" } });
  if (path === "/fails-at-once") return new Response(new ReadableStream({ start: (controller) => controller.error(new Error("the body broke at once")) }));
  if (path === "/fails-midway") {
    return new Response(
      new ReadableStream({
        async pull(controller) {
          controller.enqueue(encoder.encode("part one\n"));
          await new Promise((resolve) => setTimeout(resolve, 20));
          controller.error(new Error("the body broke midway"));
        },
      }),
    );
  }
  return new Response("fine");
};

const startServer = startedServers();

async function start(exposeErrors = false): Promise<HearthServer> {
  return startServer({}, { fetch: worker, exposeErrors });
}

const get = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

describe("a response that cannot be written", () => {
  it("becomes a logged 500 while its head has not gone out, and the connection serves the next request", async () => {
    const server = await start();
    const errors = loggedErrors();
    try {
      const bytes = await rawExchange(server.port, get("/control") + get("/delete") + get("/fails-at-once") + get("/after", "Connection: close\r\n"));
      expect(bytes.toString("latin1").match(/HTTP\/1\.1 \d{3} [^\r]*/g)).toEqual([...Array<string>(3).fill("HTTP/1.1 500 Internal Server Error"), "HTTP/1.1 200 OK"]);
      const [control, deleted, failed, after] = parseResponses(bytes);
      for (const response of [control, deleted, failed]) {
        expect(response!.status).toBe(500);
        expect(JSON.parse(response!.body.toString())).toEqual({ error: "Internal Server Error" });
        expect(response!.lines.map(([name]) => name)).not.toContain("x-bad");
      }
      expect(after!.body.toString()).toBe("fine");
      expect(errors.text()).toMatch(/\[hearth\] GET \/control: the response could not be sent, a 500 went in its place: TypeError: Invalid character in header content \["x-bad"\]/);
      expect(errors.text()).toMatch(/\[hearth\] GET \/delete: the response could not be sent/);
      expect(errors.text()).toMatch(/\[hearth\] GET \/fails-at-once: the response could not be sent, a 500 went in its place: Error: the body broke at once/);
    } finally {
      errors.restore();
    }
  });

  it("tells the client why under exposeErrors (hearth dev)", async () => {
    const server = await start(true);
    const errors = loggedErrors();
    try {
      const response = await fetch(`${server.url}/control`);
      expect(response.status).toBe(500);
      expect(((await response.json()) as { error: string }).error).toMatch(/Invalid character in header content/);
    } finally {
      errors.restore();
    }
  });

  it("is cut off once its head went out, and logged", async () => {
    const server = await start();
    const errors = loggedErrors();
    try {
      const bytes = await rawExchange(server.port, get("/fails-midway") + get("/after"));
      const text = bytes.toString("latin1");
      expect(text).toMatch(/^HTTP\/1\.1 200 [^]*part one\n/);
      expect(text).not.toMatch(/0\r\n\r\n/); // no last chunk: the client can tell the body is incomplete
      expect(text).not.toContain("fine");
      await expect.poll(() => errors.text()).toMatch(/\[hearth\] GET \/fails-midway: the response was cut off after its head was sent: Error: the body broke midway/);
    } finally {
      errors.restore();
    }
  });
});
