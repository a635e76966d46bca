/**
 * Per-class counts of what the host holds (for metrics, which never label by instance): agents in
 * memory, hibernated agents that keep WebSockets open, and open WebSockets.
 */
import type { ActorCell } from "./cell.ts";
import type { SocketHub } from "./socket-hub.ts";

/** Counts of one class. */
export interface ClassCounts {
  live: number;
  hibernatedWithSockets: number;
  sockets: number;
}

/**
 * Counts by class name. `classOfKey` names the class of a hibernated actor from its key (a hibernated
 * facet's sockets count under its root's class).
 */
export function countByClass(cells: ReadonlyMap<string, ActorCell>, hub: SocketHub, classOfKey: (key: string) => string): Map<string, ClassCounts> {
  const stats = new Map<string, ClassCounts>();
  const entry = (className: string): ClassCounts => {
    let counts = stats.get(className);
    if (!counts) stats.set(className, (counts = { live: 0, hibernatedWithSockets: 0, sockets: 0 }));
    return counts;
  };
  for (const cell of cells.values()) entry(cell.binding.className).live++;
  for (const key of hub.agentKeys()) {
    const cell = cells.get(key);
    const counts = entry(cell?.binding.className ?? classOfKey(key));
    counts.sockets += hub.count(key);
    if (!cell) counts.hibernatedWithSockets++;
  }
  return stats;
}
