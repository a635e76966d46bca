/**
 * The resume handshake. A client that (re)connects asks `cf_agent_stream_resume_request`; the
 * agent answers `cf_agent_stream_resuming {id}` when a stream can be replayed, `cf_agent_stream_pending`
 * when a turn is queued but not streaming yet (the answer follows when it starts or ends), or
 * `cf_agent_stream_resume_none`. The client acknowledges with `cf_agent_stream_resume_ack {id}` and
 * receives every stored chunk (`replay: true`), then either `replayComplete` (the stream is live and
 * continues) or `done` (the stream was cut short by a restart). Until it acknowledges, a notified
 * connection gets no live chunks, so nothing arrives twice or out of order.
 */
import { chatFrames } from "./frames.ts";
import type { StreamStore } from "./stream-store.ts";

/** The stream the running turn is producing. */
export interface LiveStream {
  readonly requestId: string;
  readonly continuation: boolean;
}

/** A stream that ended while some connections it was offered to had not acknowledged yet. */
export interface EndedStream {
  readonly requestId: string;
  readonly continuation: boolean;
  readonly bodies: readonly string[];
  /** The terminal frame the other connections got. */
  readonly terminal: string;
}

interface ResumeHost {
  readonly streams: StreamStore;
  live(): LiveStream | undefined;
  /** A turn is running or queued that has not started streaming. */
  turnPending(): boolean;
  send(connectionId: string, frame: string): void;
}

export class ResumeCoordinator {
  readonly #host: ResumeHost;
  /** Told about the live stream, not acknowledged yet: they get no live frames meanwhile. */
  readonly #notified = new Set<string>();
  /** Asked while a turn was pending: connection id → their probe id. */
  readonly #waiting = new Map<string, string | undefined>();
  /** The last stream, kept in memory for connections offered it that have not acknowledged. */
  #ended: { stream: EndedStream; owed: Set<string> } | undefined;

  constructor(host: ResumeHost) {
    this.#host = host;
  }

  /** Connections that must not receive live chunks now. */
  get excluded(): ReadonlySet<string> {
    return this.#notified;
  }

  /** A new connection learns about a live stream without asking (clients that never ask still resume). */
  connected(connectionId: string): void {
    const live = this.#host.live();
    if (live) this.#offer(connectionId, live.requestId, undefined, true);
  }

  requested(connectionId: string, probeId: string | undefined): void {
    const live = this.#host.live();
    if (live) return this.#offer(connectionId, live.requestId, probeId, true);
    if (this.#host.turnPending()) {
      this.#waiting.set(connectionId, probeId);
      this.#host.send(connectionId, chatFrames.pending(undefined, probeId));
      return;
    }
    const stored = this.#host.streams.current();
    if (stored?.status === "interrupted") return this.#offer(connectionId, stored.requestId, probeId, false);
    this.#host.send(connectionId, chatFrames.resumeNone(probeId));
  }

  acknowledged(connectionId: string, requestId: string): void {
    this.#notified.delete(connectionId);
    if (this.#ended?.stream.requestId === requestId && this.#ended.owed.delete(connectionId)) {
      const { stream } = this.#ended;
      if (this.#ended.owed.size === 0) this.#ended = undefined;
      stream.bodies.forEach((body, seq) =>
        this.#host.send(connectionId, chatFrames.response({ id: requestId, body, done: false, replay: true, seq, continuation: stream.continuation })),
      );
      this.#host.send(connectionId, stream.terminal);
      return;
    }
    const stored = this.#host.streams.current();
    const live = this.#host.live();
    if (!stored || stored.requestId !== requestId) {
      // Finished meanwhile (its message is in the conversation): end the client's resumed stream.
      if (live?.requestId !== requestId) this.#host.send(connectionId, chatFrames.response({ id: requestId, body: "", done: true, replay: true }));
      return;
    }
    const continuation = stored.continuation;
    let seq = 0;
    for (const body of this.#host.streams.chunks(requestId)) {
      this.#host.send(connectionId, chatFrames.response({ id: requestId, body, done: false, replay: true, seq: seq++, continuation }));
    }
    if (live?.requestId === requestId) {
      this.#host.send(connectionId, chatFrames.response({ id: requestId, body: "", done: false, replay: true, replayComplete: true, continuation }));
    } else {
      this.#host.send(
        connectionId,
        chatFrames.response({ id: requestId, body: "", done: true, replay: true, continuation, outcome: "aborted", messageIds: stored.messageIds }),
      );
    }
  }

  /** A turn started streaming: connections that waited for it are offered the stream. */
  streamStarted(requestId: string): void {
    this.#ended = undefined;
    for (const [connectionId, probeId] of this.#waiting) this.#offer(connectionId, requestId, probeId, true);
    this.#waiting.clear();
  }

  /**
   * The live stream ended: every connection gets its frames again. Connections it was offered to
   * that have not acknowledged yet get the whole stream and its end when they do.
   */
  streamEnded(ended?: EndedStream): void {
    if (ended && this.#notified.size > 0) this.#ended = { stream: ended, owed: new Set(this.#notified) };
    this.#notified.clear();
  }

  /** No turn is left to wait for: connections still waiting hear that there is nothing to resume. */
  settled(): void {
    for (const [connectionId, probeId] of this.#waiting) this.#host.send(connectionId, chatFrames.resumeNone(probeId));
    this.#waiting.clear();
  }

  forget(connectionId: string): void {
    this.#notified.delete(connectionId);
    this.#waiting.delete(connectionId);
    this.#ended?.owed.delete(connectionId);
    if (this.#ended?.owed.size === 0) this.#ended = undefined;
  }

  /** Offers a stream; for a live one the connection gets no live frames until it acknowledges. */
  #offer(connectionId: string, requestId: string, probeId: string | undefined, live: boolean): void {
    if (live) this.#notified.add(connectionId);
    this.#host.send(connectionId, chatFrames.resuming(requestId, probeId));
  }
}
