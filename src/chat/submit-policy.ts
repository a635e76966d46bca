/**
 * `messageConcurrency`: what a new message (`trigger: "submit-message"`) does while a turn runs or
 * waits. Regenerations, tool continuations, approvals, clears and `saveMessages` always queue.
 *
 * - `"queue"` (default): every message gets its turn, in order.
 * - `"latest"`: turns still waiting are skipped; their messages stay in the conversation unanswered.
 * - `"merge"`: as latest, and the waiting messages are merged with the new one into one user
 *   message (texts joined by a blank line), which gets one answer.
 * - `"drop"`: refused before anything is stored; the sender gets the conversation back.
 * - `{ strategy: "debounce", debounceMs }`: as latest, and the turn starts only once no new message
 *   came for `debounceMs` (default 750).
 */
import type { UIMessage } from "ai";

/**
 * What `messageConcurrency` may be.
 * @example
 * messageConcurrency: MessageConcurrency = { strategy: "debounce", debounceMs: 1000 };
 */
export type MessageConcurrency = "queue" | "latest" | "merge" | "drop" | { strategy: "debounce"; debounceMs?: number };

/** @deprecated The earlier name of {@link MessageConcurrency}. */
export type ChatConcurrency = MessageConcurrency;

/** A policy as the turn queue applies it. */
export type SubmitPolicy = { kind: "queue" | "latest" | "merge" | "drop" } | { kind: "debounce"; debounceMs: number };

/** The quiet period of `{ strategy: "debounce" }` when `debounceMs` is missing or not a number >= 0. */
export const DEFAULT_DEBOUNCE_MS = 750;

/** The policy for a request: only new messages are subject to it. */
export function submitPolicy(concurrency: MessageConcurrency, trigger: "submit-message" | "regenerate-message"): SubmitPolicy {
  if (trigger !== "submit-message") return { kind: "queue" };
  if (typeof concurrency === "string") {
    if (concurrency === "queue" || concurrency === "latest" || concurrency === "merge" || concurrency === "drop") return { kind: concurrency };
    throw new TypeError(`messageConcurrency must be "queue", "latest", "merge", "drop" or { strategy: "debounce" }, got ${JSON.stringify(concurrency)}`);
  }
  if (typeof concurrency !== "object" || concurrency === null || concurrency.strategy !== "debounce") {
    throw new TypeError(`messageConcurrency must be "queue", "latest", "merge", "drop" or { strategy: "debounce" }, got ${JSON.stringify(concurrency)}`);
  }
  const ms = concurrency.debounceMs;
  return { kind: "debounce", debounceMs: typeof ms === "number" && Number.isFinite(ms) && ms >= 0 ? ms : DEFAULT_DEBOUNCE_MS };
}

/** True when the policy skips the requests still waiting in favour of the new one. */
export function supersedes(policy: SubmitPolicy): boolean {
  return policy.kind === "latest" || policy.kind === "merge" || policy.kind === "debounce";
}

/**
 * Merges the trailing user messages whose ids are in `ids` (at least two of them, at the end of the
 * conversation) into one: the last one's id and fields, the parts of all of them in order, texts
 * joined by a blank line. Returns the conversation unchanged otherwise.
 */
export function mergeTrailingUserMessages<M extends UIMessage>(messages: readonly M[], ids: ReadonlySet<string>): M[] {
  let start = messages.length;
  while (start > 0 && messages[start - 1]!.role === "user" && ids.has(messages[start - 1]!.id)) start--;
  const run = messages.slice(start);
  if (run.length < 2) return [...messages];
  const parts: UIMessage["parts"] = [...run[0]!.parts];
  for (const message of run.slice(1)) {
    appendText(parts, "\n\n");
    for (const part of message.parts) {
      if (part.type === "text") appendText(parts, part.text);
      else parts.push(part);
    }
  }
  return [...messages.slice(0, start), { ...run.at(-1)!, parts }];
}

function appendText(parts: UIMessage["parts"], text: string): void {
  if (text.length === 0) return;
  const last = parts.at(-1);
  if (last?.type === "text") parts[parts.length - 1] = { ...last, text: last.text + text };
  else parts.push({ type: "text", text });
}
