import { afterEach, describe, expect, it, vi } from "vitest";
import type { HearthServer, WorkerFetch } from "../../src/index.ts";
import { loggedErrors } from "../support/logged-errors.ts";
import { rawRequest } from "./raw-http.ts";
import { startedServers } from "./started-servers.ts";

const SECRET = "connection to db://admin:hunter2@10.0.0.5 refused";

const NOT_A_RESPONSE = "Incorrect type for Promise: the Promise did not resolve to 'Response'.";

const worker: WorkerFetch = (request) => {
  const { pathname } = new URL(request.url);
  if (pathname === "/boom") throw new Error(SECRET);
  if (pathname === "/string") return "just a string" as unknown as Response;
  if (pathname === "/nothing") return undefined as unknown as Response;
  if (pathname === "/object") return Promise.resolve({ status: 200 } as unknown as Response);
  if (pathname === "/upstream") return fetch(`${new URL(request.url).origin}/fine`); // Node's own Response: still a Response
  return new Response("ok");
};

const startServer = startedServers();
afterEach(() => {
  vi.restoreAllMocks();
});

async function start(exposeErrors?: boolean): Promise<HearthServer> {
  return startServer({}, { fetch: worker, ...(exposeErrors === undefined ? {} : { exposeErrors }) });
}

describe("an exception in the worker's fetch", () => {
  it("answers a generic 500 by default and logs the error in full", async () => {
    const logged: unknown[][] = [];
    vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void logged.push(args));
    const server = await start();
    const response = await rawRequest("127.0.0.1", server.port, "/boom", [["Host", "app.example.com"]]);
    expect(response.status).toBe(500);
    expect(response.headers["content-type"]).toBe("application/json");
    // The request's id is there too once something reads ids (a logger made by any test file of this worker).
    const { requestId, ...rest } = JSON.parse(response.body) as { requestId?: string };
    expect(rest).toEqual({ error: "Internal Server Error" });
    expect(requestId === undefined || typeof requestId === "string").toBe(true);
    expect(response.body).not.toContain("hunter2");
    expect(logged.some((args) => args.some((arg) => arg instanceof Error && arg.message === SECRET))).toBe(true);
    expect((await fetch(`${server.url}/fine`)).status).toBe(200);
  });

  it("shows the message with exposeErrors (hearth dev)", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const server = await start(true);
    const response = await fetch(`${server.url}/boom`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: SECRET });
  });

  it("a handler that gives something other than a Response: a logged TypeError and a 500, the connection kept", async () => {
    const errors = loggedErrors();
    const server = await start();
    for (const path of ["/string", "/nothing", "/object"]) {
      const response = await rawRequest("127.0.0.1", server.port, path, [["Host", "app.example.com"]]);
      expect(response.status, path).toBe(500);
      expect((JSON.parse(response.body) as { error: string }).error).toBe("Internal Server Error");
    }
    errors.restore();
    expect(errors.text().split(`TypeError: ${NOT_A_RESPONSE}`)).toHaveLength(4);
    expect(await (await fetch(`${server.url}/upstream`)).text()).toBe("ok");
    const dev = await start(true);
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect(await (await fetch(`${dev.url}/string`)).json()).toEqual({ error: NOT_A_RESPONSE });
  });
});
