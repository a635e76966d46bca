/**
 * What `useAgentChat` reports about turns, from the agent's frames and without a DOM: `onTurnEnd`
 * once per chat request that ended (this tab's, another tab's, a continuation, one replayed after a
 * reconnect), and `isRecovering` while the agent recovers a turn a restart cut short.
 */
import { CHAT_FRAME, type ChatOutcome, type ChatServerFrame } from "../client/chat-protocol.ts";

/**
 * A chat request that ended, as `onTurnEnd` receives it.
 *
 * @example
 * ```ts
 * const onTurnEnd = (event: ChatTurnEndEvent) => {
 *   if (event.outcome === "skipped") markUnanswered(event.messageIds ?? []);
 * };
 * ```
 */
export interface ChatTurnEndEvent {
  /** The request's id. */
  requestId: string;
  /** The user messages the request ended with, as the agent stored them (absent when there were none). */
  messageIds?: string[];
  outcome: ChatOutcome;
  /** The error message, when `outcome` is `"error"`. */
  error?: string;
  /** The end was replayed after a reconnect rather than seen live. */
  replay: boolean;
}

/** Ended requests remembered, so each is reported once. */
const REMEMBERED = 256;

export interface TurnStatusHost {
  /** True while this tab's own request `id` is still settling in the chat (its `status` is not ready yet). */
  settling(id: string): boolean;
  ended(event: ChatTurnEndEvent): void;
  recoveringChanged(recovering: boolean): void;
}

export class TurnStatus {
  readonly #host: TurnStatusHost;
  /** Error frames (`error: true, done: false`) by request: the end that follows carries no text. */
  readonly #errors = new Map<string, string>();
  readonly #ended = new Set<string>();
  /** Ends of this tab's requests, reported once the chat's status settled (so the callback may send). */
  #held: ChatTurnEndEvent[] = [];
  #recovering = false;

  constructor(host: TurnStatusHost) {
    this.#host = host;
  }

  get recovering(): boolean {
    return this.#recovering;
  }

  handle(frame: ChatServerFrame): void {
    switch (frame.type) {
      case CHAT_FRAME.recovering:
        return this.#setRecovering(frame.recovering);
      case CHAT_FRAME.clear:
        return this.#setRecovering(false);
      case CHAT_FRAME.response:
        break;
      default:
        return;
    }
    if (frame.error && !frame.done) {
      remember(this.#errors, frame.id, frame.body);
      return;
    }
    if (!frame.done) return;
    const earlier = this.#errors.get(frame.id);
    this.#errors.delete(frame.id);
    // A request a recovery continues under a new id ends with that one.
    if (frame.outcome === "recovering") return;
    this.#setRecovering(false);
    if (this.#ended.has(frame.id)) return;
    remember(this.#ended, frame.id);
    const outcome: ChatOutcome = frame.error || (frame.outcome === undefined && earlier !== undefined) ? "error" : (frame.outcome ?? "completed");
    const error = frame.error ? frame.body : earlier;
    const event: ChatTurnEndEvent = {
      requestId: frame.id,
      ...(frame.messageIds ? { messageIds: frame.messageIds } : {}),
      outcome,
      ...(outcome === "error" && error ? { error } : {}),
      replay: frame.replay === true,
    };
    if (this.#host.settling(frame.id)) this.#held.push(event);
    else this.#host.ended(event);
  }

  /** The chat's status settled: the held ends of this tab's requests are reported now. */
  flush(): void {
    const held = this.#held;
    this.#held = [];
    for (const event of held) this.#host.ended(event);
  }

  #setRecovering(recovering: boolean): void {
    if (this.#recovering === recovering) return;
    this.#recovering = recovering;
    this.#host.recoveringChanged(recovering);
  }
}

function remember(store: Set<string> | Map<string, string>, id: string, value?: string): void {
  if (store instanceof Map) store.set(id, value ?? "");
  else store.add(id);
  if (store.size > REMEMBERED) store.delete(store.keys().next().value as string);
}
