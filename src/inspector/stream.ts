/**
 * The live stream (`GET /api/stream`, Server-Sent Events): `agents:*` events, log entries, ended
 * spans and metric samples multiplexed on one connection, each message with an `id:` so a client
 * reconnecting with `Last-Event-ID` gets what it missed from an in-memory buffer. Sources are
 * subscribed only while someone watches (and a minute after, so a reconnect can resume): with no
 * stream open, agents pay nothing for events.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { clearInterval, setInterval } from "node:timers"; // Node's own: never an application's fake one
import { channels, subscribe, type ChannelKey } from "../events/index.ts";
import { ApiError, badRequest, toJson } from "./http.ts";
import { INSPECTOR_LIMITS } from "./limits.ts";
import type { MetricsHistory } from "./metrics-history.ts";
import type { InspectorSources } from "./sources.ts";
import { spanAgent } from "../observability/traces/trace-summary.ts";
import { viewerEvent } from "./viewer-event.ts";

/** The topics a stream may ask for. */
export const TOPICS = ["events", "logs", "spans", "metrics"] as const;
export type Topic = (typeof TOPICS)[number];

/** A client slower than this many buffered bytes is disconnected (it reconnects and resumes). */
export const MAX_STREAM_BACKLOG_BYTES = 4 * 1024 * 1024;
/** How long sources stay subscribed after the last stream closed, for resumes. */
const LINGER_MS = 60_000;

/** A message of another host's stream, serialized there: a thread of the same process relays its own. */
export interface RelayedMessage {
  topic: Topic;
  data: string;
  className?: string;
  agent?: string;
}

/** Another host whose events, logs and spans this stream shows while someone watches (the other threads of `--threads N`). */
export interface StreamRelay {
  /** Starts sending its messages to `deliver`; returns what stops that. */
  watch(deliver: (messages: readonly RelayedMessage[]) => void): () => void;
}

/**
 * Subscribes to everything a stream shows — every `agents:*` channel, the log and span sources, the
 * metric samples — and hands each to `publish` with its class and agent; returns the unsubscribers.
 * The stream does this while someone watches; a thread relaying to another's stream does the same.
 */
export function watchSources(sources: InspectorSources, metrics: MetricsHistory | undefined, publish: (topic: Topic, value: unknown, className?: string, agent?: string) => void): Array<() => void> {
  const stops: Array<() => void> = [];
  for (const key of Object.keys(channels) as ChannelKey[]) {
    stops.push(
      subscribe(key, (event) => {
        const e = event as { agent?: string; name?: string };
        publish("events", viewerEvent(event), e.agent, e.name);
      }),
    );
  }
  const fields = (value: Record<string, unknown>): [string | undefined, string | undefined] => [
    typeof value.class === "string" ? value.class : undefined,
    typeof value.agent === "string" ? value.agent : undefined,
  ];
  if (sources.logs?.subscribe) stops.push(sources.logs.subscribe((entry) => publish("logs", entry, ...fields(entry))));
  // A span names its agent in its attributes (Hearth's, or the GenAI conventions' on model and tool spans).
  const spanFields = (span: Record<string, unknown>): [string | undefined, string | undefined] => {
    const { className, name } = spanAgent((typeof span.attributes === "object" && span.attributes !== null ? span.attributes : {}) as Record<string, unknown>);
    return [className, name];
  };
  if (sources.spans?.subscribe) stops.push(sources.spans.subscribe((span) => publish("spans", span, ...spanFields(span))));
  if (metrics) stops.push(metrics.onSample((series) => publish("metrics", { at: Date.now(), series })));
  return stops;
}

/** `value` as a stream message's data: a value JSON cannot carry becomes a note, not an exception (it comes from agents' code). */
export function streamData(value: unknown): string {
  try {
    return toJson(value);
  } catch (error) {
    return JSON.stringify({ unserializable: error instanceof Error ? error.message : String(error) });
  }
}

interface Message {
  id: number;
  topic: Topic;
  className: string | undefined;
  agent: string | undefined;
  data: string;
}

interface Client {
  response: ServerResponse;
  topics: ReadonlySet<Topic>;
  className: string | undefined;
  agent: string | undefined;
}

export interface LiveStreamOptions {
  sources: InspectorSources;
  metrics: MetricsHistory | undefined;
  heartbeatMs?: number;
  maxStreams?: number;
  bufferSize?: number;
}

/** Every open stream of one inspector, and the buffer they resume from. */
export class LiveStream {
  readonly #options: LiveStreamOptions;
  readonly #clients = new Set<Client>();
  readonly #buffer: Message[] = [];
  readonly #heartbeat: NodeJS.Timeout;
  #nextId = 1;
  #unsubscribe: Array<() => void> = [];
  #linger: NodeJS.Timeout | undefined;
  readonly #relays: StreamRelay[] = [];

  constructor(options: LiveStreamOptions) {
    this.#options = options;
    this.#heartbeat = setInterval(() => {
      for (const client of this.#clients) if (!client.response.destroyed) client.response.write(": heartbeat\n\n");
    }, options.heartbeatMs ?? INSPECTOR_LIMITS.heartbeatMs).unref();
  }

  /** Open streams now. */
  get size(): number {
    return this.#clients.size;
  }

  /** Starts a stream on `response`; 429 `too_many_streams` over the cap, 400 for an unknown topic. */
  open(request: IncomingMessage, response: ServerResponse, query: URLSearchParams): void {
    const max = this.#options.maxStreams ?? INSPECTOR_LIMITS.maxStreams;
    if (this.#clients.size >= max) throw new ApiError(429, "too_many_streams", `${max} live streams are open already (the inspector's limit); close one first`);
    const asked = (query.get("topics") ?? "events,logs,spans,metrics").split(",").filter((topic) => topic !== "");
    for (const topic of asked) if (!(TOPICS as readonly string[]).includes(topic)) throw badRequest(`Unknown topic ${JSON.stringify(topic)}; topics are ${TOPICS.join(", ")}`);
    const client: Client = { response, topics: new Set(asked as Topic[]), className: query.get("class") || undefined, agent: query.get("agent") || undefined };
    response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-content-type-options": "nosniff",
      "x-accel-buffering": "no",
    });
    response.write(": hearth inspector stream\n\n");
    const lastId = Number(request.headers["last-event-id"] ?? query.get("lastEventId") ?? Number.NaN);
    if (Number.isInteger(lastId)) for (const message of this.#buffer) if (message.id > lastId) this.#send(client, message);
    this.#clients.add(client);
    this.#subscribe();
    const done = () => {
      this.#clients.delete(client);
      if (this.#clients.size === 0) this.#scheduleUnsubscribe();
    };
    request.on("close", done);
    response.on("close", done);
    response.on("error", done);
  }

  /** Closes every stream and stops every subscription. */
  close(): void {
    clearInterval(this.#heartbeat);
    clearTimeout(this.#linger);
    for (const client of this.#clients) client.response.end();
    this.#clients.clear();
    this.#stop();
  }

  /** Shows `relay`'s messages too, whenever this stream's sources are subscribed (from now on if they are). */
  addRelay(relay: StreamRelay): void {
    this.#relays.push(relay);
    if (this.#unsubscribe.length > 0) this.#unsubscribe.push(this.#watchRelay(relay));
  }

  /** Adds a message for every stream that wants it (and to the resume buffer). */
  publish(topic: Topic, value: unknown, className?: string, agent?: string): void {
    this.#publishData(topic, streamData(value), className, agent);
  }

  #publishData(topic: Topic, data: string, className: string | undefined, agent: string | undefined): void {
    const message: Message = { id: this.#nextId++, topic, className, agent, data };
    this.#buffer.push(message);
    if (this.#buffer.length > (this.#options.bufferSize ?? INSPECTOR_LIMITS.streamBufferSize)) this.#buffer.shift();
    for (const client of this.#clients) this.#send(client, message);
  }

  #send(client: Client, message: Message): void {
    if (!client.topics.has(message.topic)) return;
    // A filtered stream shows that class's or instance's messages alone: not the host's own log lines
    // or metric samples, which name no agent.
    if (client.className !== undefined && client.className !== message.className) return;
    if (client.agent !== undefined && client.agent !== message.agent) return;
    if (client.response.destroyed || client.response.writableEnded) return;
    if (client.response.writableLength > MAX_STREAM_BACKLOG_BYTES) {
      client.response.destroy();
      return;
    }
    client.response.write(`id: ${message.id}\nevent: ${message.topic}\ndata: ${message.data}\n\n`);
  }

  #subscribe(): void {
    clearTimeout(this.#linger);
    this.#linger = undefined;
    if (this.#unsubscribe.length > 0) return;
    const { sources, metrics } = this.#options;
    this.#unsubscribe.push(...watchSources(sources, metrics, (topic, value, className, agent) => this.publish(topic, value, className, agent)));
    for (const relay of this.#relays) this.#unsubscribe.push(this.#watchRelay(relay));
  }

  #watchRelay(relay: StreamRelay): () => void {
    return relay.watch((messages) => {
      for (const message of messages) this.#publishData(message.topic, message.data, message.className, message.agent);
    });
  }

  #scheduleUnsubscribe(): void {
    clearTimeout(this.#linger);
    this.#linger = setTimeout(() => this.#stop(), LINGER_MS).unref();
  }

  #stop(): void {
    for (const stop of this.#unsubscribe) stop();
    this.#unsubscribe = [];
  }
}
