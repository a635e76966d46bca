// maxSseBufferBytes: a legacy SSE client that stops reading its stream does not make the server hold
// its output without bound; past the limit the stream and its session end, with an error saying why.
import { request as httpRequest, type IncomingMessage } from "node:http";
import { afterEach, expect, it, vi } from "vitest";
import { startHarness, type Harness } from "../support/harness.ts";
import { Notes } from "./fixtures/notes.ts";

let harness: Harness | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await harness?.close();
  harness = undefined;
});

/** Opens the SSE stream and reads until the endpoint event; the caller then stops reading. */
async function openStream(url: string): Promise<{ stream: IncomingMessage; endpoint: string }> {
  const stream = await new Promise<IncomingMessage>((resolve, reject) => {
    const request = httpRequest(new URL("/sse", url), { headers: { accept: "text/event-stream" } }, resolve);
    request.on("error", reject);
    request.end();
  });
  // Not for-await: leaving that loop would destroy the stream.
  const endpoint = await new Promise<string>((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += String(chunk);
      const match = /event: endpoint\ndata: (\S+)\n\n/.exec(text);
      if (!match) return;
      stream.off("data", onData);
      stream.pause();
      resolve(new URL(match[1]!, url).href);
    };
    stream.on("data", onData);
    stream.on("end", () => reject(new Error(`no endpoint event in ${text}`)));
  });
  return { stream, endpoint };
}

it("ends a legacy SSE session whose client leaves more than maxSseBufferBytes unread", async () => {
  const errors: unknown[] = [];
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void errors.push(...args));
  const handler = Notes.serveSSE("/sse", { maxSseBufferBytes: 256 * 1024 });
  harness = await startHarness({ Notes }, { fetch: (request, env, ctx) => handler.fetch(request, env, ctx) });
  const { stream, endpoint } = await openStream(harness.url);
  const post = (id: number, message: Record<string, unknown>) =>
    fetch(endpoint, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", ...message, ...(id ? { id } : {}) }) });
  const initialize = { method: "initialize", params: { protocolVersion: "2024-11-05", capabilities: {}, clientInfo: { name: "t", version: "1" } } };
  expect((await post(1, initialize)).status).toBe(202);
  expect((await post(0, { method: "notifications/initialized" })).status).toBe(202);

  // Each answer is 128 KiB on the stream nobody reads; the session ends once too much waits unread.
  const text = "x".repeat(128 * 1024);
  let status = 202;
  for (let id = 2; id < 400 && status === 202; id++) {
    status = (await post(id, { method: "tools/call", params: { name: "slow_echo", arguments: { text, ms: 0 } } })).status;
  }
  expect(status).toBe(404);
  expect(errors.map(String).join("\n")).toMatch(/more than 262144 bytes unread \(maxSseBufferBytes\)/);
  stream.destroy();
});
