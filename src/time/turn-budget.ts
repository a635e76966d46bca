/**
 * How long one sweep that closes agent files (the host's idle sweep, hibernating agents; parking's
 * sweep of idle connections) may spend closing them in one turn of the event loop before the rest
 * waits for the next turn. Each sweep has its own; closes made to stay under a cap (too many live
 * agents, too many open connections) are not counted against it. A close costs 0.1–1 ms on disk
 * (its checkpoint, and emptying the -wal when the pool cannot take it back): a thousand agents going
 * idle together would otherwise hold every reply of those turns for tens of milliseconds each.
 */
export const CLOSING_MS_PER_TURN = 2;
