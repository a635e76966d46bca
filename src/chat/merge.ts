/**
 * A client's copy of the conversation against the stored one. A chat request carries the whole
 * conversation as the client sees it; it replaces the stored one, with two exceptions that keep
 * what the client cannot have seen yet:
 *
 * - messages stored after the last one the client also has (an answer that finished, or another
 *   tab's turn, while this request was on its way) stay, before the client's new messages;
 * - tool parts the server has further along (a result or an approval applied meanwhile) win.
 *
 * A request that only edits or drops messages (nothing new in it), and a regenerate, replace the
 * stored conversation exactly.
 *
 * Assistant messages belong to the server ({@link checkClientMessages}): a client's copy of one the
 * server stored is replaced by the stored one, and one the server never produced is refused. Tool
 * answers reach the server only as `cf_agent_tool_result` / `cf_agent_tool_approval` frames.
 */
import type { UIMessage } from "ai";
import { hasToolParts, keepServerToolState } from "./tool-parts.ts";

export function mergeIncoming<M extends UIMessage>(incoming: readonly M[], stored: readonly M[], exact: boolean): M[] {
  const merged = keepServerToolState(incoming, stored);
  if (exact) return merged;
  const storedIds = new Set(stored.map((m) => m.id));
  const firstNew = merged.findIndex((m) => !storedIds.has(m.id));
  if (firstNew < 0) return merged;
  const incomingIds = new Set(merged.map((m) => m.id));
  let lastShared = -1;
  stored.forEach((m, i) => {
    if (incomingIds.has(m.id)) lastShared = i;
  });
  const unseen = stored.slice(lastShared + 1).filter((m) => !incomingIds.has(m.id));
  if (unseen.length === 0) return merged;
  return [...merged.slice(0, firstNew), ...unseen, ...merged.slice(firstNew)];
}

/**
 * Messages stored from the server's own code (`persistMessages`, `saveMessages`), as the Agents SDK
 * stores them: each replaces the stored message of its id where it is, and those the conversation
 * does not have yet come after it, in their order; nothing stored is dropped (tool parts the server
 * has further along win, as for a client). `exact`: the list becomes the whole conversation.
 */
export function upsertMessages<M extends UIMessage>(incoming: readonly M[], stored: readonly M[], exact: boolean): M[] {
  const merged = keepServerToolState(incoming, stored);
  if (exact) return merged;
  const byId = new Map(merged.map((message) => [message.id, message]));
  const storedIds = new Set(stored.map((message) => message.id));
  return [...stored.map((message) => byId.get(message.id) ?? message), ...merged.filter((message) => !storedIds.has(message.id))];
}

/** What a client may send, for {@link checkClientMessages}. */
export interface ClientMessageRules {
  /** `role: "system"` messages are accepted (the class's `acceptClientSystemMessages`). */
  acceptSystem: boolean;
  /** New messages are accepted (chat requests); a `cf_agent_chat_messages` frame may only edit, reorder and drop. */
  acceptNew: boolean;
  /** Id of the answer the running turn is streaming: a client's copy of it is left out (the turn stores it). */
  liveMessageId: string | undefined;
  /**
   * Older messages are pruned from storage (`maxPersistedMessages`): the client's copies of what
   * the store let go of, everything before the first message it still has, are left out.
   */
  pruned: boolean;
}

export type ClientMessagesCheck<M> = { ok: true; messages: M[] } | { ok: false; error: string };

/**
 * A client's messages made safe to store: assistant messages the server stored are replaced by
 * the stored copy, and empty ones it never produced are left out; other assistant messages it
 * never produced, tool parts outside them, changed roles (also of the reply being streamed),
 * system messages (unless accepted) and, when `acceptNew` is false, new messages are refused. With
 * `pruned`, what the client holds before the first message still stored is left out.
 */
export function checkClientMessages<M extends UIMessage>(incoming: readonly M[], stored: readonly M[], rules: ClientMessageRules): ClientMessagesCheck<M> {
  const byId = new Map(stored.map((m) => [m.id, m]));
  const messages: M[] = [];
  const firstKnown = incoming.findIndex((m) => byId.has(m.id));
  // A client keeps the whole conversation and sends it back with every request. Under pruning,
  // what comes before the first message still stored is what the store let go of: taken as new it
  // would be stored again (and count as the client's new messages, so a turn stored meanwhile
  // would be put before it and then pruned in its place); checked, a system message the server
  // added would be refused forever. So it is left out, unchecked.
  const start = rules.pruned && firstKnown > 0 ? firstKnown : 0;
  /** No message of the client's is stored: under pruning, its assistant messages may all be pruned ones. */
  const noneKnown = firstKnown < 0;
  // An edit (nothing new allowed) from a client that holds none of what is stored: its messages are
  // all pruned ones, and taking them would replace the conversation with nothing.
  if (rules.pruned && noneKnown && !rules.acceptNew && incoming.length > 0 && stored.length > 0) {
    return { ok: false, error: "none of these messages is stored any more (older ones are pruned: maxPersistedMessages); load the conversation again before editing it" };
  }
  for (let i = start; i < incoming.length; i++) {
    const message = incoming[i]!;
    const known = byId.get(message.id);
    const where = `messages[${i}] (${JSON.stringify(message.id)})`;
    if (known && known.role !== message.role) return { ok: false, error: `${where} is stored with role "${known.role}"; a client may not change it to "${message.role}"` };
    // The reply being streamed is not stored yet, but its id is taken: stored under it, another
    // message would be replaced by the reply when it ends, and the next turn would extend it.
    if (message.id === rules.liveMessageId && message.role !== "assistant") {
      return { ok: false, error: `${where} has the id of the reply being streamed; a client may not give it role "${message.role}"` };
    }
    if (message.role === "assistant") {
      if (known) {
        messages.push(known);
        continue;
      }
      // An empty one is what a client keeps of a reply that failed or was stopped before its first
      // part (the server stored nothing): it carries nothing, so it is left out, not refused.
      if (message.id === rules.liveMessageId || message.parts.length === 0 || (rules.pruned && noneKnown)) continue;
      return { ok: false, error: `${where} is an assistant message this agent did not produce; assistant messages come only from the agent` };
    }
    if (message.role === "system" && !rules.acceptSystem) {
      if (known) {
        messages.push(known);
        continue;
      }
      return { ok: false, error: `${where} has role "system"; this agent does not accept system messages from clients (acceptClientSystemMessages)` };
    }
    if (hasToolParts(message)) return { ok: false, error: `${where} has tool parts; tool calls belong to assistant messages, and tool answers are sent as cf_agent_tool_result / cf_agent_tool_approval` };
    if (!known && !rules.acceptNew) {
      if (rules.pruned && noneKnown) continue;
      return { ok: false, error: `${where} is not in the conversation; cf_agent_chat_messages may only edit, reorder or drop messages (send new ones as a chat request)` };
    }
    messages.push(message);
  }
  return { ok: true, messages };
}
