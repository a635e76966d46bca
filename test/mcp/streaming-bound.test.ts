/**
 * The bound on SSE output a single McpServer's client leaves unread counts what waits, not the size
 * of one event: a large event reaches a client that reads; more than the bound left waiting is cut.
 */
import { describe, expect, it } from "vitest";
import { watchProduction } from "../../src/mcp/server/streaming.ts";

const BOUND = 1024 * 1024;

function produced(chunks: Uint8Array[]): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk); // all made before anyone reads
      controller.close();
    },
  });
  return watchProduction(new Response(body, { headers: { "content-type": "text/event-stream" } }), () => {}, { bytes: BOUND, exceeded: () => new Error("cut: more than the bound unread") });
}

describe("watchProduction's bound", () => {
  it("lets one event larger than the bound through, even to a client a little late", async () => {
    const answer = produced([new Uint8Array(3 * BOUND).fill(1)]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await answer.arrayBuffer()).byteLength).toBe(3 * BOUND);
  });

  it("cuts once more than the bound waits unread", async () => {
    const answer = produced([new Uint8Array(BOUND).fill(1), new Uint8Array(BOUND).fill(2), new Uint8Array(BOUND).fill(3)]);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the client is late
    await expect(answer.arrayBuffer()).rejects.toThrow("cut: more than the bound unread");
  });
});
