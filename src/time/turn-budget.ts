/**
 * How long one turn of the event loop may spend closing agent files (parking idle connections,
 * hibernating idle agents) before the rest waits for the next turn. A close costs 0.1–1 ms on disk
 * (its checkpoint, and emptying the -wal when the pool cannot take it back): a thousand agents going
 * idle together would otherwise hold every reply of those turns for tens of milliseconds each.
 */
export const CLOSING_MS_PER_TURN = 2;
