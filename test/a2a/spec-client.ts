/**
 * A minimal A2A client written from the specification for the tests (raw fetch, JSON-RPC 2.0 and an
 * SSE parser of its own), so the server is checked against the protocol, not against Hearth's client.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- wire JSON read freely in assertions: its shape is what the tests check
export type Wire = any;
export type Json = Record<string, Wire>;

let nextId = 0;

/** One JSON-RPC call: the HTTP status and the parsed body. */
export async function rpc(url: string, method: string, params?: Json, headers: Record<string, string> = {}): Promise<{ status: number; body: Json }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ jsonrpc: "2.0", id: ++nextId, method, ...(params ? { params } : {}) }),
  });
  return { status: response.status, body: (await response.json()) as Json };
}

/** The result of a call that must succeed. */
export async function result(url: string, method: string, params?: Json, headers?: Record<string, string>): Promise<Wire> {
  const { body } = await rpc(url, method, params, headers);
  if (body.error) throw new Error(`${method} failed: ${JSON.stringify(body.error)}`);
  return body.result;
}

/** The error of a call that must fail. */
export async function error(url: string, method: string, params?: Json, headers?: Record<string, string>): Promise<{ code: number; message: string; data?: unknown }> {
  const { body } = await rpc(url, method, params, headers);
  if (!body.error) throw new Error(`${method} succeeded: ${JSON.stringify(body.result)}`);
  return body.error;
}

/** A user message in the v1.0 shape. */
export function userMessage(text: string, extra: Json = {}): Json {
  return { messageId: crypto.randomUUID(), role: "ROLE_USER", parts: [{ text }], ...extra };
}

/** A user message in the v0.3 shape. */
export function userMessageV03(text: string, extra: Json = {}): Json {
  return { kind: "message", messageId: crypto.randomUUID(), role: "user", parts: [{ kind: "text", text }], ...extra };
}

export interface SseFrame {
  id?: string;
  data: Json;
}

/** An open SSE response read frame by frame. */
export class SpecStream {
  readonly response: Response;
  readonly frames: SseFrame[] = [];
  readonly #controller: AbortController;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  readonly #decoder = new TextDecoder();
  #buffer = "";
  ended = false;

  private constructor(response: Response, controller: AbortController) {
    this.response = response;
    this.#controller = controller;
    this.#reader = response.body?.getReader();
  }

  static async open(url: string, method: string, params: Json, headers: Record<string, string> = {}): Promise<SpecStream> {
    const controller = new AbortController();
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", ...headers },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++nextId, method, params }),
      signal: controller.signal,
    });
    return new SpecStream(response, controller);
  }

  /** The next frame, or undefined at the end of the stream. */
  async next(): Promise<SseFrame | undefined> {
    for (;;) {
      const end = this.#buffer.indexOf("\n\n");
      if (end !== -1) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        const frame = parseBlock(block);
        if (frame) {
          this.frames.push(frame);
          return frame;
        }
        continue;
      }
      const chunk = await this.#reader!.read();
      if (chunk.done) {
        this.ended = true;
        return undefined;
      }
      this.#buffer += this.#decoder.decode(chunk.value, { stream: true });
    }
  }

  /** Every frame up to the end of the stream. */
  async rest(): Promise<SseFrame[]> {
    const out: SseFrame[] = [];
    for (let frame = await this.next(); frame; frame = await this.next()) out.push(frame);
    return out;
  }

  /** Drops the connection, as a client losing its network would. */
  drop(): void {
    this.#controller.abort();
  }
}

/** One SSE event block: `id:` and `data:` lines (comments and other fields skipped). */
function parseBlock(block: string): SseFrame | undefined {
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    if (line.startsWith("id:")) id = line.slice(3).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (data.length === 0) return undefined;
  return { ...(id !== undefined ? { id } : {}), data: JSON.parse(data.join("\n")) as Json };
}

/** Waits until `check` returns something other than undefined/false (up to 5 s). */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what = "a condition"): Promise<T> {
  const deadline = Date.now() + 20_000; // generous: a loaded machine is slow, the test timeout is 30 s
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
