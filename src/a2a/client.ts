/**
 * A client of a remote A2A agent over JSON-RPC: its card, send, stream (SSE), get, list, cancel,
 * resubscribe from the last event seen, push configs. Speaks v1.0 by default (or v0.3) and reads
 * answers in either version's shape.
 */
import { randomUUID } from "node:crypto";
import { A2A_ERROR_CODES, A2AError } from "./errors.ts";
import { readSse } from "./sse-reader.ts";
import type { A2AAgentCard, A2AMessage, A2APart, A2AProtocolVersion, A2APushConfig, A2AStreamEvent, A2ATask, A2ATaskState } from "./types.ts";
import { badResponse, eventIn, isRecord, messageOut, stateOut, taskIn } from "./wire.ts";

export interface A2AClientOptions {
  /** Sent with every request (e.g. `authorization`). */
  headers?: Record<string, string>;
  /** The fetch to use. Default the global one. */
  fetch?: typeof fetch;
  /** The protocol version spoken. Default "1.0". */
  version?: A2AProtocolVersion;
}

/** A message to send: a text, or a message whose id and role may be left out (generated / "user"). */
export type A2AMessageInput = string | (Omit<A2AMessage, "messageId" | "role"> & { messageId?: string; role?: "user" | "agent" });

export interface A2ASendOptions {
  /** Wait for a final state (default true); false returns the task at once. */
  blocking?: boolean;
  historyLength?: number;
  /** Register a push target for the task this message starts. */
  pushNotification?: Omit<A2APushConfig, "id"> & { id?: string };
  signal?: AbortSignal;
}

/** A stream item and its seq (the SSE id), to resubscribe from. */
export interface A2AStreamItem {
  seq?: number;
  event: A2AStreamEvent;
}

const METHODS: Record<A2AProtocolVersion, Record<string, string>> = {
  "1.0": {
    send: "SendMessage",
    stream: "SendStreamingMessage",
    get: "GetTask",
    list: "ListTasks",
    cancel: "CancelTask",
    subscribe: "SubscribeToTask",
    pushSet: "CreateTaskPushNotificationConfig",
    extendedCard: "GetExtendedAgentCard",
  },
  "0.3": {
    send: "message/send",
    stream: "message/stream",
    get: "tasks/get",
    list: "tasks/list",
    cancel: "tasks/cancel",
    subscribe: "tasks/resubscribe",
    pushSet: "tasks/pushNotificationConfig/set",
    extendedCard: "agent/getAuthenticatedExtendedCard",
  },
};

/**
 * @example
 * const client = new A2AClient("https://agents.example.com/agents/desk/main");
 * for await (const { event } of client.stream("Where is my order 42?")) console.log(event.kind);
 * const task = await client.send("Summarise ticket 7") as A2ATask;
 */
export class A2AClient {
  /** The JSON-RPC endpoint. */
  readonly url: string;
  readonly version: A2AProtocolVersion;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof fetch;
  #rpcId = 0;

  constructor(url: string, options: A2AClientOptions = {}) {
    this.url = url.replace(/\/+$/, "");
    this.version = options.version ?? "1.0";
    this.#headers = options.headers ?? {};
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** A client for the agent whose card is at `cardUrl` (its first JSON-RPC interface of a version spoken here). */
  static async fromCard(cardUrl: string, options: A2AClientOptions = {}): Promise<A2AClient> {
    const card = await fetchCard(cardUrl, options.fetch ?? ((input, init) => fetch(input, init)), options.headers ?? {});
    const interfaces = Array.isArray(card.supportedInterfaces) ? card.supportedInterfaces : [];
    const wanted = options.version ? [options.version] : (["1.0", "0.3"] as const);
    for (const version of wanted) {
      const found = interfaces.find((i) => i.protocolBinding === "JSONRPC" && i.protocolVersion.startsWith(version === "1.0" ? "1." : "0.3"));
      if (found) return new A2AClient(found.url, { ...options, version });
    }
    if (typeof card.url === "string") return new A2AClient(card.url, { ...options, version: options.version ?? "0.3" });
    throw badResponse(`the card at ${cardUrl} names no JSON-RPC interface`);
  }

  /** The agent's card (`<url>/.well-known/agent-card.json`). */
  getCard(): Promise<A2AAgentCard> {
    return fetchCard(`${this.url}/.well-known/agent-card.json`, this.#fetch, this.#headers);
  }

  /** Sends a message; answers the task (or a message, from agents that answer without one). */
  async send(message: A2AMessageInput, options: A2ASendOptions = {}): Promise<A2ATask | A2AMessage> {
    const result = await this.call(METHODS[this.version].send!, this.#sendParams(message, options), options.signal);
    const event = eventIn(result);
    if (event.kind === "task") return event.task;
    if (event.kind === "message") return event.message;
    throw badResponse("SendMessage answered neither a task nor a message");
  }

  /** Sends a message and follows its task: the task first, then status and artifact updates until a final state. */
  stream(message: A2AMessageInput, options: Omit<A2ASendOptions, "blocking"> = {}): AsyncGenerator<A2AStreamItem> {
    return this.#stream(METHODS[this.version].stream!, this.#sendParams(message, options), {}, options.signal);
  }

  /** Follows a task again; with `afterSeq` (the last seq seen) the events missed meanwhile come first. */
  resubscribe(taskId: string, options: { afterSeq?: number; signal?: AbortSignal } = {}): AsyncGenerator<A2AStreamItem> {
    const headers: Record<string, string> = options.afterSeq !== undefined ? { "last-event-id": String(options.afterSeq) } : {};
    return this.#stream(METHODS[this.version].subscribe!, { id: taskId }, headers, options.signal);
  }

  async getTask(taskId: string, options: { historyLength?: number } = {}): Promise<A2ATask> {
    return taskIn(await this.call(METHODS[this.version].get!, { id: taskId, ...options }));
  }

  async listTasks(query: { contextId?: string; state?: A2ATaskState; pageSize?: number; pageToken?: string; includeArtifacts?: boolean } = {}): Promise<{ tasks: A2ATask[]; nextPageToken: string; totalSize: number }> {
    const { state, ...rest } = query;
    const result = await this.call(METHODS[this.version].list!, { ...rest, ...(state ? { status: stateOut(state, this.version) } : {}) });
    if (!isRecord(result) || !Array.isArray(result.tasks)) throw badResponse("ListTasks answered no tasks array");
    return { tasks: result.tasks.map((task) => taskIn(task)), nextPageToken: typeof result.nextPageToken === "string" ? result.nextPageToken : "", totalSize: Number(result.totalSize ?? result.tasks.length) };
  }

  async cancel(taskId: string): Promise<A2ATask> {
    return taskIn(await this.call(METHODS[this.version].cancel!, { id: taskId }));
  }

  /** Registers a push target for a task. */
  async setPushConfig(taskId: string, config: Omit<A2APushConfig, "id"> & { id?: string }): Promise<unknown> {
    const params = this.version === "1.0" ? { taskId, ...config } : { taskId, pushNotificationConfig: config };
    return this.call(METHODS[this.version].pushSet!, params);
  }

  /** One JSON-RPC call; throws {@link A2AError} with the agent's error code. */
  async call(method: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> {
    const response = await this.#post(method, params, {}, signal);
    const body = await readJson(response, this.url);
    if (isRecord(body.error)) throw rpcError(body.error);
    return body.result;
  }

  async *#stream(method: string, params: Record<string, unknown>, headers: Record<string, string>, signal?: AbortSignal): AsyncGenerator<A2AStreamItem> {
    const response = await this.#post(method, params, { accept: "text/event-stream", ...headers }, signal);
    if (!(response.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
      const body = await readJson(response, this.url);
      if (isRecord(body.error)) throw rpcError(body.error);
      throw badResponse(`${method} answered ${response.headers.get("content-type")} instead of an event stream`);
    }
    for await (const sse of readSse(response.body!)) {
      let frame: unknown;
      try {
        frame = JSON.parse(sse.data);
      } catch {
        throw badResponse(`a stream event is not JSON: ${sse.data.slice(0, 200)}`);
      }
      if (!isRecord(frame)) throw badResponse("a stream event is not a JSON-RPC response");
      if (isRecord(frame.error)) throw rpcError(frame.error);
      const seq = sse.id !== undefined && /^\d+$/.test(sse.id) ? Number(sse.id) : undefined;
      yield { ...(seq !== undefined ? { seq } : {}), event: eventIn(frame.result) };
    }
  }

  #post(method: string, params: Record<string, unknown>, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    return this.#fetch(this.url, {
      method: "POST",
      headers: { "content-type": "application/json", "a2a-version": this.version, ...this.#headers, ...headers },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++this.#rpcId, method, params }),
      ...(signal ? { signal } : {}),
    });
  }

  #sendParams(input: A2AMessageInput, options: A2ASendOptions): Record<string, unknown> {
    const message = toMessage(input);
    const configuration = {
      ...(options.blocking !== undefined ? (this.version === "1.0" ? { returnImmediately: !options.blocking } : { blocking: options.blocking }) : {}),
      ...(options.historyLength !== undefined ? { historyLength: options.historyLength } : {}),
      ...(options.pushNotification ? { [this.version === "1.0" ? "taskPushNotificationConfig" : "pushNotificationConfig"]: options.pushNotification } : {}),
    };
    return { message: messageOut(message, this.version), ...(Object.keys(configuration).length > 0 ? { configuration } : {}) };
  }
}

/**
 * A message from what a caller gave: a text becomes one text part; the id is generated when missing.
 * @example
 * toMessage("hi"); // { messageId: "<uuid>", role: "user", parts: [{ text: "hi" }] }
 */
export function toMessage(input: A2AMessageInput): A2AMessage {
  if (typeof input === "string") return { messageId: randomUUID(), role: "user", parts: [{ text: input } satisfies A2APart] };
  return { ...input, messageId: input.messageId ?? randomUUID(), role: input.role ?? "user" };
}

async function fetchCard(url: string, fetcher: typeof fetch, headers: Record<string, string>): Promise<A2AAgentCard> {
  const response = await fetcher(url, { headers: { accept: "application/json", ...headers } });
  if (!response.ok) throw new Error(`Fetching the agent card ${url} failed: HTTP ${response.status}`);
  const card = (await response.json()) as unknown;
  if (!isRecord(card) || typeof card.name !== "string") throw badResponse(`${url} is not an agent card`);
  return card as A2AAgentCard;
}

/** A JSON-RPC answer; an HTTP error without one (a 404 page, a proxy's 502) is thrown with its status. */
async function readJson(response: Response, url: string): Promise<Record<string, unknown>> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const isRpc = isRecord(body) && (body.jsonrpc === "2.0" || "result" in body || isRecord(body.error));
  if (!isRpc) {
    if (!response.ok) throw new Error(`A2A request to ${url} failed: HTTP ${response.status} ${text.slice(0, 200)}`);
    throw badResponse(`the answer of ${url} is not a JSON-RPC response`);
  }
  return body as Record<string, unknown>;
}

function rpcError(error: Record<string, unknown>): A2AError {
  const code = typeof error.code === "number" ? error.code : A2A_ERROR_CODES.internalError;
  return new A2AError(code, typeof error.message === "string" ? error.message : "A2A error", error.data);
}
