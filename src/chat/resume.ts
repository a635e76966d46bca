/**
 * The resume handshake. A client that (re)connects asks `cf_agent_stream_resume_request`; the
 * agent answers `cf_agent_stream_resuming {id}` when a stream can be replayed, `cf_agent_stream_pending`
 * when a turn is queued but not streaming yet (the answer follows when it starts or ends), or
 * `cf_agent_stream_resume_none`. The client acknowledges with `cf_agent_stream_resume_ack {id}` and
 * receives every stored chunk (`replay: true`), then either `replayComplete` (the stream is live and
 * continues) or `done` (the stream was cut short by a restart), or, for a turn that ended in an
 * error, the error frame (kept until the next turn starts, so a client away then still learns of
 * it, as in the Agents SDK). Until it acknowledges, a notified connection gets no live chunks of
 * that stream, so nothing arrives twice or out of order; every other frame (the turn's end, the
 * conversation) reaches it as usual. An acknowledgement that
 * comes after the stream ended gets its `done` frame, with the turn's outcome.
 */
import { chatFrames, type ChatOutcome } from "./frames.ts";
import type { StreamStore } from "./stream-store.ts";

/** The stream the running turn is producing. */
export interface LiveStream {
  readonly requestId: string;
  readonly continuation: boolean;
  /** The id of the answer it streams, once its first chunk went out. */
  readonly messageId?: string;
}

/** How the last stream ended: what a late acknowledgement gets. */
export interface EndedStream {
  readonly requestId: string;
  readonly continuation: boolean;
  readonly outcome: ChatOutcome;
  readonly messageIds: string[] | undefined;
  /** Its chunks, when connections it was offered to had not acknowledged it yet. */
  readonly bodies: readonly string[];
  /** The terminal frame everyone got. */
  readonly terminal: string;
}

/** How long the chunks of an ended stream are kept for connections that have not acknowledged it. */
export const ENDED_STREAM_KEEP_MS = 60_000;

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
  /** How the last stream ended; its chunks only while connections offered it may still acknowledge. */
  #ended: EndedStream | undefined;
  /** Connections offered the last stream that have not acknowledged it: they get its chunks when they do. */
  readonly #owed = new Set<string>();
  #dropChunks: ReturnType<typeof setTimeout> | undefined;

  constructor(host: ResumeHost) {
    this.#host = host;
  }

  /** Connections that must not receive the live stream's chunks (`done: false` frames) now. */
  get excluded(): ReadonlySet<string> {
    return this.#notified;
  }

  /**
   * Connections offered the ended stream that have not acknowledged it: its terminal frame
   * reaches them after the replay when they acknowledge, or alone once the kept chunks are dropped.
   */
  get owed(): ReadonlySet<string> {
    return this.#owed;
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
      this.#host.send(connectionId, chatFrames.pending(probeId));
      return;
    }
    const stored = this.#host.streams.current();
    if (stored && stored.status !== "streaming") return this.#offer(connectionId, stored.requestId, probeId, false);
    this.#host.send(connectionId, chatFrames.resumeNone(probeId));
  }

  acknowledged(connectionId: string, requestId: string): void {
    this.#notified.delete(connectionId);
    const ended = this.#ended?.requestId === requestId ? this.#ended : undefined;
    if (ended && this.#owed.delete(connectionId)) {
      ended.bodies.forEach((body, seq) =>
        this.#host.send(connectionId, chatFrames.response({ id: requestId, body, done: false, replay: true, seq, continuation: ended.continuation })),
      );
      if (this.#owed.size === 0) this.#freeChunks();
      this.#host.send(connectionId, replayed(ended.terminal));
      return;
    }
    const stored = this.#host.streams.current();
    const live = this.#host.live();
    if (!stored || stored.requestId !== requestId) {
      // Finished meanwhile (its message is in the conversation): end the client's resumed stream.
      if (live?.requestId === requestId) return;
      this.#host.send(
        connectionId,
        chatFrames.response({
          id: requestId,
          body: "",
          done: true,
          replay: true,
          ...(ended ? { continuation: ended.continuation, outcome: ended.outcome, messageIds: ended.messageIds } : {}),
        }),
      );
      return;
    }
    const continuation = stored.continuation;
    let seq = 0;
    for (const body of this.#host.streams.chunks(requestId)) {
      this.#host.send(connectionId, chatFrames.response({ id: requestId, body, done: false, replay: true, seq: seq++, continuation }));
    }
    if (live?.requestId === requestId) {
      this.#host.send(connectionId, chatFrames.response({ id: requestId, body: "", done: false, replay: true, replayComplete: true, continuation }));
    } else if (stored.error !== undefined) {
      // As a live client saw it end: the error, on the stream the client resumed.
      this.#host.send(
        connectionId,
        chatFrames.response({ id: requestId, body: stored.error, done: true, error: true, replay: true, continuation, outcome: "error", messageIds: stored.messageIds }),
      );
    } else {
      this.#host.send(
        connectionId,
        chatFrames.response({ id: requestId, body: "", done: true, replay: true, continuation, outcome: "aborted", messageIds: stored.messageIds }),
      );
    }
  }

  /** A turn started streaming: connections that waited for it are offered the stream. */
  streamStarted(requestId: string): void {
    for (const [connectionId, probeId] of this.#waiting) this.#offer(connectionId, requestId, probeId, true);
    this.#waiting.clear();
  }

  /**
   * The live stream ended (called before its terminal frame and the conversation go out, so every
   * connection gets the conversation). Connections it was offered to that have not acknowledged
   * become {@link owed}: the replay and the terminal frame when they acknowledge, the terminal
   * frame alone after {@link ENDED_STREAM_KEEP_MS}; the kept chunks are dropped then.
   */
  streamEnded(ended?: EndedStream): void {
    this.#freeChunks();
    if (ended && this.#notified.size > 0) {
      for (const id of this.#notified) this.#owed.add(id);
      this.#dropChunks = setTimeout(() => this.#freeChunks(true), ENDED_STREAM_KEEP_MS);
      this.#dropChunks.unref?.();
    }
    this.#ended = ended && this.#owed.size > 0 ? ended : ended && { ...ended, bodies: [] };
    this.#notified.clear();
  }

  /** Drops the kept chunks (a later acknowledgement gets only a `done` frame); `expired`: the owed connections get the terminal frame now. */
  #freeChunks(expired = false): void {
    clearTimeout(this.#dropChunks);
    this.#dropChunks = undefined;
    if (expired && this.#ended) for (const id of this.#owed) this.#host.send(id, this.#ended.terminal);
    this.#owed.clear();
    if (this.#ended) this.#ended = { ...this.#ended, bodies: [] };
  }

  /** No turn is left to wait for: connections still waiting hear that there is nothing to resume. */
  settled(): void {
    // A turn that failed before it streamed is offered, so they learn how it ended.
    const failed = this.#host.streams.current();
    for (const [connectionId, probeId] of this.#waiting) {
      if (failed?.error !== undefined) this.#offer(connectionId, failed.requestId, probeId, false);
      else this.#host.send(connectionId, chatFrames.resumeNone(probeId));
    }
    this.#waiting.clear();
  }

  forget(connectionId: string): void {
    this.#notified.delete(connectionId);
    this.#waiting.delete(connectionId);
    if (this.#owed.delete(connectionId) && this.#owed.size === 0) this.#freeChunks();
  }

  /** Offers a stream; for a live one the connection gets no live frames until it acknowledges. */
  #offer(connectionId: string, requestId: string, probeId: string | undefined, live: boolean): void {
    if (live) this.#notified.add(connectionId);
    this.#host.send(connectionId, chatFrames.resuming(requestId, probeId));
  }
}

/** A terminal frame sent again, to a connection that acknowledged after the stream ended. */
function replayed(terminal: string): string {
  return JSON.stringify({ ...(JSON.parse(terminal) as Record<string, unknown>), replay: true });
}
