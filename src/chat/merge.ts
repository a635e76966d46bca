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
 */
import type { UIMessage } from "ai";
import { keepServerToolState } from "./tool-parts.ts";

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
