import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { abortableRequest } from "../../src/gateway/abortable-request.ts";

const NativeRequest = globalThis.Request;
let server: Server | undefined;
afterEach(async () => {
  globalThis.Request = NativeRequest;
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

describe("abortableRequest", () => {
  it("is an ordinary Request until aborted, then its signal aborts with an AbortError", async () => {
    const { request, abort } = abortableRequest("http://localhost/x", { method: "POST", body: "hello", headers: { "x-a": "1" } });
    expect(request).toBeInstanceOf(Request);
    expect(request.method).toBe("POST");
    expect(request.headers.get("x-a")).toBe("1");
    expect(request.signal.aborted).toBe(false);
    let heard = 0;
    request.signal.addEventListener("abort", () => heard++);
    abort();
    expect(request.signal.aborted).toBe(true);
    expect((request.signal.reason as Error).name).toBe("AbortError");
    expect(heard).toBe(1);
    expect(await request.text()).toBe("hello");
  });

  it("aborts the requests made from it: new Request(request), { signal: request.signal }, clones and clones of clones", () => {
    const { request, abort } = abortableRequest("http://localhost/x", {});
    const copied = new Request(request);
    const linked = new Request("http://localhost/y", { signal: request.signal });
    const clone = request.clone();
    const cloneOfClone = clone.clone();
    abort();
    expect([copied, linked, clone, cloneOfClone].map((r) => r.signal.aborted)).toEqual([true, true, true, true]);
    expect(request.clone().signal.aborted).toBe(true); // a clone made afterwards starts aborted
  });

  it("cancels a fetch the request was handed to", async () => {
    server = createServer(() => {}); // never answers
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const { request, abort } = abortableRequest(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, {});
    const pending = fetch(request);
    abort();
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
  });

  it("falls back to a linked signal when the Request does not make its controller as expected", () => {
    globalThis.Request = class extends NativeRequest {
      constructor(input: RequestInfo | URL, init?: RequestInit) {
        super(input, init);
        void new AbortController(); // the last controller made is no longer the request's own
      }
    };
    const { request, abort } = abortableRequest("http://localhost/x", { method: "PUT", body: "b" });
    expect(request.method).toBe("PUT");
    abort();
    expect(request.signal.aborted).toBe(true);
  });
});
