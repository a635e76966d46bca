/**
 * Reads what `onChatMessage` returned as AI SDK UI message chunks: an SSE `Response` (what
 * `toUIMessageStreamResponse()` builds), a plain-text `Response` (each piece becomes a text delta),
 * or a `ReadableStream` of chunks. Reading stops at once when the turn is aborted.
 */
import { generateId, type UIMessageChunk } from "ai";
import { isRecord } from "../client/frames.ts";

/** What `onChatMessage` may return; `undefined` means no reply. */
export type ChatReply = Response | ReadableStream<UIMessageChunk>;

/** The chunks of a reply, in order; cancelling the signal cancels the underlying body. */
export async function* readReply(reply: ChatReply, signal: AbortSignal): AsyncGenerator<UIMessageChunk> {
  if (reply instanceof Response) {
    if (reply.body === null) return;
    const sse = (reply.headers.get("content-type") ?? "").includes("text/event-stream");
    yield* sse ? sseChunks(reply.body, signal) : textChunks(reply.body, signal);
    return;
  }
  const reader = reply.getReader();
  const cancel = () => void reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener("abort", cancel, { once: true });
  try {
    for (;;) {
      if (signal.aborted) return;
      const { done, value } = await reader.read();
      if (done || signal.aborted) return;
      if (isRecord(value) && typeof value.type === "string") yield value;
    }
  } finally {
    signal.removeEventListener("abort", cancel);
    reader.releaseLock();
  }
}

async function* lines(body: ReadableStream<Uint8Array>, signal: AbortSignal): AsyncGenerator<string, string> {
  const reader = body.getReader();
  const cancel = () => void reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener("abort", cancel, { once: true });
  const decoder = new TextDecoder();
  let pending = "";
  try {
    for (;;) {
      if (signal.aborted) return "";
      const { done, value } = await reader.read();
      if (signal.aborted) return "";
      if (done) return pending + decoder.decode();
      pending += decoder.decode(value, { stream: true });
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        yield pending.slice(0, newline).replace(/\r$/, "");
        pending = pending.slice(newline + 1);
        newline = pending.indexOf("\n");
      }
    }
  } finally {
    signal.removeEventListener("abort", cancel);
    reader.releaseLock();
  }
}

/** Server-sent events: `data:` lines up to a blank line make one event, one JSON chunk. */
async function* sseChunks(body: ReadableStream<Uint8Array>, signal: AbortSignal): AsyncGenerator<UIMessageChunk> {
  let data: string[] = [];
  const dispatch = function* (): Generator<UIMessageChunk> {
    const payload = data.join("\n");
    data = [];
    if (payload === "" || payload === "[DONE]") return;
    let value: unknown;
    try {
      value = JSON.parse(payload);
    } catch {
      return; // not a chunk (a comment or keep-alive the server chose to send as data)
    }
    if (isRecord(value) && typeof value.type === "string") yield value as UIMessageChunk;
  };
  const source = lines(body, signal);
  for (;;) {
    const { done, value } = await source.next();
    const line = value;
    if (done) {
      if (line.startsWith("data:")) data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
      yield* dispatch();
      return;
    }
    if (line === "") yield* dispatch();
    else if (line.startsWith("data:")) data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
  }
}

/** A plain-text body streamed as one text part. */
async function* textChunks(body: ReadableStream<Uint8Array>, signal: AbortSignal): AsyncGenerator<UIMessageChunk> {
  const reader = body.getReader();
  const cancel = () => void reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener("abort", cancel, { once: true });
  const decoder = new TextDecoder();
  const id = generateId();
  yield { type: "text-start", id };
  try {
    for (;;) {
      if (signal.aborted) return;
      const { done, value } = await reader.read();
      if (signal.aborted) return;
      if (done) break;
      const delta = decoder.decode(value, { stream: true });
      if (delta.length > 0) yield { type: "text-delta", id, delta };
    }
    const rest = decoder.decode();
    if (rest.length > 0) yield { type: "text-delta", id, delta: rest };
    yield { type: "text-end", id };
  } finally {
    signal.removeEventListener("abort", cancel);
    reader.releaseLock();
  }
}
