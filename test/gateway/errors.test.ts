import { afterEach, describe, expect, it, vi } from "vitest";
import { Host, serve, type HearthServer, type WorkerFetch } from "../../src/index.ts";
import { tempDir } from "../support/harness.ts";
import { rawRequest } from "./raw-http.ts";

const SECRET = "connection to db://admin:hunter2@10.0.0.5 refused";

const worker: WorkerFetch = (request) => {
  if (new URL(request.url).pathname === "/boom") throw new Error(SECRET);
  return new Response("ok");
};

let running: { host: Host; server: HearthServer; dir: ReturnType<typeof tempDir> } | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await running?.server.close();
  await running?.host.close();
  running?.dir.remove();
  running = undefined;
});

async function start(exposeErrors?: boolean): Promise<HearthServer> {
  const dir = tempDir();
  const host = new Host({ dataDir: dir.path, agents: {} });
  const server = await serve({ host, port: 0, fetch: worker, ...(exposeErrors === undefined ? {} : { exposeErrors }) });
  running = { host, server, dir };
  return server;
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
});
