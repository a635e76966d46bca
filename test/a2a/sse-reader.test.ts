import { describe, expect, it } from "vitest";
import { readSse, type SseEvent } from "../../src/a2a/index.ts";

const encoder = new TextEncoder();

/** A body sending `chunks` one read at a time; counts how many were read. */
function body(chunks: string[]): { stream: ReadableStream<Uint8Array>; reads: () => number } {
  let next = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (next === chunks.length) controller.close();
      else controller.enqueue(encoder.encode(chunks[next++]!));
    },
  });
  return { stream, reads: () => next };
}

async function all(events: AsyncGenerator<SseEvent>): Promise<SseEvent[]> {
  const seen: SseEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

describe("readSse", () => {
  it("joins an event's data lines, keeps its id and skips comments", async () => {
    const { stream } = body(["id: 7\ndata: {\"a\":\n", ": keep-alive\n", "data: 1}\n\n", "data: two\r\n\r\n"]);
    expect(await all(readSse(stream))).toEqual([{ id: "7", data: '{"a":\n1}' }, { id: "7", data: "two" }]);
  });

  it("fails an event whose data lines add up to more than maxEventBytes, without reading the rest of the body", async () => {
    // Short lines and no blank line: each line is far under the line limit, the event grows forever.
    const { stream, reads } = body(Array.from({ length: 1000 }, () => `data: ${"x".repeat(100)}\n`));
    await expect(all(readSse(stream, { maxEventBytes: 10_000 }))).rejects.toThrow("An SSE event's data is larger than 10000 bytes (maxEventBytes)");
    expect(reads()).toBeLessThan(110);
  });

  it("counts each event on its own, in UTF-8 bytes with the joining newlines", async () => {
    const event = "data: é€\ndata: ab\n\n"; // 2 + 3 bytes, a newline, 2 bytes: 8
    expect(await all(readSse(body([event, event]).stream, { maxEventBytes: 8 }))).toEqual([{ data: "é€\nab" }, { data: "é€\nab" }]);
    await expect(all(readSse(body([event]).stream, { maxEventBytes: 7 }))).rejects.toThrow("larger than 7 bytes");
  });

  it("still fails a line longer than maxLineBytes (a number is taken as maxLineBytes)", async () => {
    await expect(all(readSse(body([`data: ${"y".repeat(200)}`]).stream, 100))).rejects.toThrow("An SSE line is longer than 100 bytes");
  });
});
