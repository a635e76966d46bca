/**
 * Follows chat turns that no transport stream reads: a continuation the agent
 * runs after a tool result or approval, or a turn another tab or the agent
 * itself started. Their chunks are folded into the transcript with the AI SDK's
 * own message builder, and their data parts reported as the AI SDK reports a
 * stream it reads itself (`onData`).
 */
import { readUIMessageStream, type ChatOnDataCallback, type UIMessage, type UIMessageChunk } from "ai";
import { nextChunk, parseChunk } from "../client/chat-chunks.ts";
import type { ChatResponseFrame } from "../client/chat-protocol.ts";

/** The data part a `data-*` chunk carries, as `onData` gets it. */
type DataPart<M extends UIMessage> = Parameters<ChatOnDataCallback<M>>[0];

/** What the observer reads and changes. */
export interface TurnObserverHost<M extends UIMessage> {
  /** The transcript as it is now. */
  messages(): M[];
  /** Applies a change to the transcript. */
  update(change: (messages: M[]) => M[]): void;
  /**
   * Called when the first turn starts, and when the last one has ended and its last chunks are in
   * the transcript (so a UI that stops showing "streaming" shows the whole answer).
   */
  activeChanged(active: boolean): void;
  /** A turn was first seen after its start (a page that connected mid-turn): join it by a resume. */
  joinLate(id: string): void;
  /** A data part (`data-*` chunk) of a followed turn, transient or not, once each. */
  data(part: DataPart<M>): void;
  generateId(): string;
}

interface ObservedTurn {
  id: string;
  controller: ReadableStreamDefaultController<UIMessageChunk>;
  /** The id of the message the turn writes (it changes when a start chunk names one). */
  messageId: string;
  continuation: boolean;
  /** Chunks applied so far (a replay after a reconnect starts from the first one again). */
  received: number;
  /** Replayed chunks still to drop, for agents that do not number chunks. */
  skip: number;
  interrupted: boolean;
  /** Settles once every chunk of the turn is folded into the transcript. */
  applied: Promise<void>;
}

const ENDED_LIMIT = 64;

/** Replaces message `id` with `message`, or appends it when the transcript does not have it. */
function put<M extends UIMessage>(messages: M[], id: string, message: M): M[] {
  const index = messages.findIndex((candidate) => candidate.id === id);
  if (index === -1) return [...messages, message];
  const next = messages.slice();
  next[index] = message;
  return next;
}

/**
 * The turns being followed, by request id.
 *
 * @example
 * ```ts
 * const observer = new TurnObserver({ messages: () => chat.messages, update, activeChanged, joinLate, generateId });
 * transport = new AgentChatTransport({ agent, onUnownedFrame: (frame) => observer.handle(frame) });
 * ```
 */
export class TurnObserver<M extends UIMessage> {
  readonly #host: TurnObserverHost<M>;
  readonly #turns = new Map<string, ObservedTurn>();
  /** Turns that ended, or that are joined another way: their frames are ignored. */
  readonly #ignored = new Set<string>();
  /** Ended turns whose last chunks are still being folded into the transcript. */
  #settling = 0;
  /** What {@link TurnObserverHost.activeChanged} last said. */
  #reported = false;

  constructor(host: TurnObserverHost<M>) {
    this.#host = host;
  }

  get active(): boolean {
    return this.#turns.size > 0;
  }

  /** Ids of the turns being followed. */
  get ids(): string[] {
    return [...this.#turns.keys()];
  }

  has(id: string): boolean {
    return this.#turns.has(id);
  }

  /** Folds one response frame into the transcript. */
  handle(frame: ChatResponseFrame): void {
    let turn = this.#turns.get(frame.id);
    if (turn === undefined) {
      if (this.#ignored.has(frame.id) || frame.error || frame.done) return;
      const chunk = parseChunk(frame.body);
      if (chunk === undefined) return;
      if (chunk.type !== "start" && frame.seq !== 0) {
        this.#ignore(frame.id);
        this.#host.joinLate(frame.id);
        return;
      }
      turn = this.#start(frame);
    }
    if (frame.error) {
      turn.controller.enqueue({ type: "error", errorText: frame.body || "Stream error" });
      this.#end(turn);
      return;
    }
    const chunk = nextChunk(turn, frame, turn.continuation);
    if (chunk !== undefined) {
      turn.controller.enqueue(chunk);
      // A copy: the message builder keeps the chunk as the message's part and updates it in place.
      if (chunk.type.startsWith("data-")) this.#host.data({ ...chunk } as DataPart<M>);
    }
    if (frame.done) this.#end(turn);
  }

  /** The connection dropped: the turns wait for {@link reattach} or {@link endInterrupted}. */
  interrupt(): void {
    for (const turn of this.#turns.values()) turn.interrupted = true;
  }

  /** Whether turn `id` was interrupted by a dropped connection. */
  isInterrupted(id: string): boolean {
    return this.#turns.get(id)?.interrupted === true;
  }

  get hasInterrupted(): boolean {
    return [...this.#turns.values()].some((turn) => turn.interrupted);
  }

  /** The agent will replay turn `id` from its first chunk: skip what was already applied. */
  reattach(id: string): void {
    const turn = this.#turns.get(id);
    if (turn === undefined) return;
    turn.interrupted = false;
    turn.skip = turn.received;
  }

  /** Ends the interrupted turns the agent could not resume; returns how many. */
  endInterrupted(): number {
    const interrupted = [...this.#turns.values()].filter((turn) => turn.interrupted);
    for (const turn of interrupted) this.#end(turn);
    return interrupted.length;
  }

  /** Stops following every turn (the transcript was cleared or the hook unmounts). */
  reset(): void {
    for (const turn of [...this.#turns.values()]) this.#end(turn);
  }

  #start(frame: ChatResponseFrame): ObservedTurn {
    const messages = this.#host.messages();
    const last = messages[messages.length - 1];
    const continuation = frame.continuation === true && last?.role === "assistant";
    const base = continuation
      ? structuredClone(last)
      : ({ id: this.#host.generateId(), role: "assistant", parts: [] } as unknown as M);
    let controller!: ReadableStreamDefaultController<UIMessageChunk>;
    const stream = new ReadableStream<UIMessageChunk>({ start: (c) => void (controller = c) });
    const turn: ObservedTurn = {
      id: frame.id,
      controller,
      messageId: base.id,
      continuation,
      received: 0,
      skip: 0,
      interrupted: false,
      applied: Promise.resolve(),
    };
    this.#turns.set(frame.id, turn);
    this.#report();
    turn.applied = this.#apply(turn, readUIMessageStream<M>({ message: base, stream, onError: () => {} }));
    return turn;
  }

  async #apply(turn: ObservedTurn, snapshots: AsyncIterable<M>): Promise<void> {
    try {
      for await (const message of snapshots) {
        const previous = turn.messageId;
        turn.messageId = message.id;
        this.#host.update((messages) => put(messages, previous, message));
      }
    } catch {
      // A broken chunk ends the turn; the agent's transcript broadcast brings the final state.
    }
  }

  #end(turn: ObservedTurn): void {
    if (this.#turns.get(turn.id) !== turn) return;
    this.#turns.delete(turn.id);
    this.#ignore(turn.id);
    try {
      turn.controller.close();
    } catch {
      // Already closed.
    }
    // Chunks that came just before the end are still on their way into the transcript (frames
    // that arrive together are handled before any of them is folded in): the end is told after them.
    this.#settling++;
    void turn.applied.then(() => {
      this.#settling--;
      this.#report();
    });
  }

  /** Tells the host when following starts, and when it is over with the transcript complete. */
  #report(): void {
    const active = this.#turns.size > 0 || this.#settling > 0;
    if (active === this.#reported) return;
    this.#reported = active;
    this.#host.activeChanged(active);
  }

  #ignore(id: string): void {
    this.#ignored.add(id);
    if (this.#ignored.size > ENDED_LIMIT) this.#ignored.delete(this.#ignored.values().next().value as string);
  }
}
