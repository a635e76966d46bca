/**
 * A signal made by AbortSignal.any and given to fetch is referenced only weakly by what aborts it:
 * collected mid-request, the abort no longer reaches the request. `holding` keeps it alive.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import v8 from "node:v8";
import vm from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { holding } from "../../src/web/holding.ts";

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A server that takes requests and never answers. */
async function silent(): Promise<string> {
  server = createServer((req) => req.resume());
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** Starts a fetch of a Request whose signal follows `caller`; nothing but `holding` (when asked) keeps them. */
function start(url: string, caller: AbortSignal, hold: boolean): Promise<Response> {
  const signal = AbortSignal.any([caller]);
  const request = new Request(url, { method: "POST", body: "x", signal });
  const work = fetch(request);
  return hold ? holding([request, signal], work) : work;
}

/** Whether `promise` settles within `ms`, and how. */
function outcome(promise: Promise<unknown>, ms: number): Promise<string> {
  return Promise.race([
    promise.then(
      () => "answered",
      (error: unknown) => (error as Error).name,
    ),
    new Promise<string>((resolve) => setTimeout(() => resolve("still waiting"), ms)),
  ]);
}

describe("holding", () => {
  it("keeps a Request and its AbortSignal.any signal alive while the fetch runs: an abort after a collection still reaches it", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    const url = await silent();
    const caller = new AbortController();
    const pending = start(url, caller.signal, true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    gc();
    gc();
    caller.abort();
    expect(await outcome(pending, 2_000)).toBe("AbortError");
  });
});
