import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { LIMITS, type WorkerFetch } from "../../src/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";
import { loggedErrors } from "../support/logged-errors.ts";
import { parseResponses, rawExchange } from "./raw-http.ts";

/** What the refusals' bodies went through: pulled at all, cancelled. */
const seen = { pulled: false, cancelled: false };

const worker: WorkerFetch = (request) => {
  const path = new URL(request.url).pathname;
  if (path === "/endless") {
    const chunk = new Uint8Array(16 * 1024).fill(0x61);
    const body = new ReadableStream({ pull: (controller) => controller.enqueue(chunk), cancel: () => void (seen.cancelled = true) });
    return new Response(body, { status: 403 });
  }
  if (path === "/silent") {
    // Nothing, ever: the client leaves first.
    const body = new ReadableStream({
      pull: () => {
        seen.pulled = true;
        return new Promise<void>(() => {});
      },
      cancel: () => void (seen.cancelled = true),
    });
    return new Response(body, { status: 403 });
  }
  if (path === "/control") return new Response("no", { status: 403, headers: { "x-bad": "a\x01b" } });
  return new Response("not here", { status: 404, headers: { connection: "x-private", "x-private": "1" } });
};

const upgrade = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;

let harness: Harness;
afterEach(() => harness.close());

describe("a refused WebSocket upgrade", () => {
  it("sends at most LIMITS.maxRefusedUpgradeBodyBytes of its body and cancels the rest", async () => {
    harness = await startHarness({}, { fetch: worker });
    seen.cancelled = false;
    const [response] = parseResponses(await rawExchange(harness.server.port, upgrade("/endless")));
    expect(response!.status).toBe(403);
    expect(response!.body.length).toBe(LIMITS.maxRefusedUpgradeBodyBytes);
    expect(response!.lines).toContainEqual(["content-length", String(LIMITS.maxRefusedUpgradeBodyBytes)]);
    await expect.poll(() => seen.cancelled).toBe(true);
  });

  it("cancels a body still awaited when the client goes away", async () => {
    harness = await startHarness({}, { fetch: worker });
    Object.assign(seen, { pulled: false, cancelled: false });
    const socket = connect(harness.server.port, "127.0.0.1");
    socket.on("error", () => {});
    socket.write(upgrade("/silent"));
    await expect.poll(() => seen.pulled).toBe(true);
    socket.destroy();
    await expect.poll(() => seen.cancelled).toBe(true);
  });

  it("leaves out hop-by-hop headers, and turns a header Node refuses into a logged 500", async () => {
    harness = await startHarness({}, { fetch: worker });
    const [notHere] = parseResponses(await rawExchange(harness.server.port, upgrade("/other")));
    expect(notHere!.status).toBe(404);
    expect(notHere!.lines.map(([name]) => name)).not.toContain("x-private");
    expect(notHere!.lines).toContainEqual(["connection", "close"]);
    const errors = loggedErrors();
    try {
      const [control] = parseResponses(await rawExchange(harness.server.port, upgrade("/control")));
      expect(control!.status).toBe(500);
      expect(errors.text()).toMatch(/\[hearth\] GET \/control: the response could not be sent, a 500 went in its place: TypeError: Invalid character in header content/);
    } finally {
      errors.restore();
    }
  });
});
