/** Server-Sent Events read from a response body: each event's `id` and `data` (comments skipped). */

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/**
 * The events of an SSE body, as they arrive. A line longer than `maxLineBytes` (default 16 MiB)
 * fails the stream instead of growing without bound.
 * @example
 * for await (const event of readSse(response.body!)) console.log(event.id, JSON.parse(event.data));
 */
export async function* readSse(body: ReadableStream<Uint8Array>, maxLineBytes = 16 * 1024 * 1024): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let data: string[] = [];
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
          event = undefined;
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        const text = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") data.push(text);
        else if (field === "id") id = text;
        else if (field === "event") event = text;
      }
      if (buffer.length > maxLineBytes) throw new Error(`An SSE line is longer than ${maxLineBytes} bytes`);
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
