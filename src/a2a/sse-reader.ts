/** Server-Sent Events read from a response body: each event's `id` and `data` (comments skipped). */

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/** How much of a stream {@link readSse} holds at once before failing it. */
export interface SseLimits {
  /** Longest line, in characters. Default 16 MiB. */
  maxLineBytes?: number;
  /** Largest event: its `data:` lines together, in UTF-8 bytes (with the newlines joining them). Default 16 MiB. */
  maxEventBytes?: number;
}

const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

/**
 * The events of an SSE body, as they arrive. A line longer than `maxLineBytes`, or an event whose
 * `data:` lines add up to more than `maxEventBytes` (many short lines and no blank line to end the
 * event), fails the stream instead of growing without bound. A number is taken as `maxLineBytes`.
 * @example
 * for await (const event of readSse(response.body!)) console.log(event.id, JSON.parse(event.data));
 */
export async function* readSse(body: ReadableStream<Uint8Array>, limits: number | SseLimits = {}): AsyncGenerator<SseEvent> {
  const { maxLineBytes = DEFAULT_MAX_BYTES, maxEventBytes = DEFAULT_MAX_BYTES } = typeof limits === "number" ? { maxLineBytes: limits } : limits;
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let data: string[] = [];
  let dataBytes = 0;
  let id: string | undefined;
  let event: string | undefined;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.search(/\r\n|\r|\n/)) !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
        if (line === "") {
          if (data.length > 0) yield { ...(id !== undefined ? { id } : {}), ...(event !== undefined ? { event } : {}), data: data.join("\n") };
          data = [];
          dataBytes = 0;
          event = undefined;
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        const text = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") {
          // Counted as it is joined: each line after the first adds a newline.
          dataBytes += Buffer.byteLength(text) + (data.length > 0 ? 1 : 0);
          if (dataBytes > maxEventBytes) throw new Error(`An SSE event's data is larger than ${maxEventBytes} bytes (maxEventBytes)`);
          data.push(text);
        } else if (field === "id") id = text;
        else if (field === "event") event = text;
      }
      if (buffer.length > maxLineBytes) throw new Error(`An SSE line is longer than ${maxLineBytes} bytes`);
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
