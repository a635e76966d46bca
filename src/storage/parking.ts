import { LIMITS } from "../limits.ts";

/** A database whose connection may be closed while it is idle and reopened on its next statement. */
export interface Parkable {
  /**
   * Called once per sweep: closes the connection if nothing used it since the last sweep and no
   * transaction is open. Returns whether the database is parked now (it then leaves the sweep).
   */
  parkIfUnused(): boolean;
}

const open = new Set<Parkable>();
let timer: ReturnType<typeof setInterval> | undefined;
let sweepMs: number = LIMITS.parkIdleConnectionAfterMs;

/** Watches an open connection; it is parked after one to two sweeps without use. */
export function watchConnection(db: Parkable): void {
  open.add(db);
  if (timer === undefined && sweepMs > 0) {
    timer = setInterval(parkIdleConnections, sweepMs);
    timer.unref();
  }
}

/** The connection was closed or parked: nothing to watch. */
export function unwatchConnection(db: Parkable): void {
  open.delete(db);
  if (open.size === 0 && timer !== undefined) {
    clearInterval(timer);
    timer = undefined;
  }
}

/**
 * One sweep: parks every watched connection unused since the previous sweep. The host's sweeper
 * calls nothing here; a timer does, every `parkIdleConnectionAfterMs`.
 * @example
 * parkIdleConnections(); parkIdleConnections(); // twice: every idle connection is closed now
 */
export function parkIdleConnections(): number {
  let parked = 0;
  for (const db of [...open]) {
    if (db.parkIfUnused()) parked++;
  }
  return parked;
}

/**
 * How often idle connections are swept, in ms (0: never park). Applies to connections watched from
 * now on; the timer restarts.
 * @example
 * setConnectionParking(0); // keep every live agent's connection open
 */
export function setConnectionParking(everyMs: number): void {
  if (!Number.isFinite(everyMs) || everyMs < 0) throw new RangeError(`parkIdleConnectionAfterMs must be a number of ms ≥ 0, got ${everyMs}`);
  sweepMs = everyMs;
  if (timer !== undefined) clearInterval(timer);
  timer = undefined;
  if (open.size > 0 && sweepMs > 0) {
    timer = setInterval(parkIdleConnections, sweepMs);
    timer.unref();
  }
}

/** Connections open now (not parked, not closed). */
export function openConnectionCount(): number {
  return open.size;
}
