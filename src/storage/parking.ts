import { closeSync, openSync } from "node:fs";
// Node's own, not the globals an application's fake timers replace: a sweep left waiting for a fake
// turn would stop every sweep of the process for good.
import { clearInterval, setImmediate, setInterval, setTimeout } from "node:timers";
import { CLOSING_MS_PER_TURN } from "../time/turn-budget.ts";
import { LIMITS } from "../limits.ts";
import { DESCRIPTOR_LIMIT, capFromDescriptors } from "./descriptor-budget.ts";
import { quietClosesPending } from "./quiet-close.ts";

/** A database whose connection may be closed while it is idle and reopened on its next statement. */
export interface Parkable {
  /** A statement ran since the last {@link takeUse}. */
  readonly used: boolean;
  /** Whether a statement ran since the last call; clears the mark. */
  takeUse(): boolean;
  /** A transaction is open: it cannot be parked now. */
  readonly busy: boolean;
  /** Closes the connection unless a transaction is open; returns whether it is parked (it then leaves the watch). */
  park(): boolean;
}

/** What parking knows of a connection's use; kept across parks (the object outlives its connections). */
interface Habit {
  /** Not parked for being idle before this (performance.now() ms): work due soon, or the rhythm of its traffic. */
  openUntil: number;
  /** When a sweep last saw it used. */
  lastSeenUsed: number;
  /** The time between the last two sweeps that saw it used (ms); undefined until two have. */
  rhythm: number | undefined;
  /** Sweeps in a row that saw it used: a busy connection. */
  streak: number;
}

const habits = new WeakMap<Parkable, Habit>();

function habitOf(db: Parkable): Habit {
  let habit = habits.get(db);
  if (habit === undefined) {
    habit = { openUntil: 0, lastSeenUsed: Number.NEGATIVE_INFINITY, rhythm: undefined, streak: 0 };
    habits.set(db, habit);
  }
  return habit;
}

/**
 * Keeps a connection from being parked for being idle for the next `ms` (work is due then). The cap
 * on open connections may still park it.
 */
export function keepConnectionOpen(db: Parkable, ms: number): void {
  const habit = habitOf(db);
  habit.openUntil = Math.max(habit.openUntil, performance.now() + ms);
}

/**
 * One sweep's look at a connection at `now`: used since the last look, it stays open, and the time
 * since a sweep last saw it used is the rhythm of its traffic (after an idle gap of up to
 * `keepRhythmUpToMs`, it stays open for 1.5 times that gap rather than being reopened at every
 * message); used at several sweeps in a row, it stays open for as many sweeps again (up to
 * `keepRhythmUpToMs`), so a busy agent's random pause of a second does not cost a reopen; unused and
 * not kept open, it is parked. Returns whether it is parked.
 */
function parkIfIdle(db: Parkable, now: number, period: number): boolean {
  const habit = habitOf(db);
  if (db.takeUse()) {
    const gap = now - habit.lastSeenUsed;
    habit.lastSeenUsed = now;
    habit.streak++;
    if (Number.isFinite(gap)) {
      habit.rhythm = gap;
      if (gap > period * 1.5 && gap <= LIMITS.keepRhythmUpToMs) habit.openUntil = Math.max(habit.openUntil, now + gap * 1.5);
    }
    if (habit.streak >= 2) habit.openUntil = Math.max(habit.openUntil, now + Math.min(habit.streak * period, LIMITS.keepRhythmUpToMs));
    return false;
  }
  habit.streak = 0;
  return now >= habit.openUntil && db.park();
}

/** Not yet seen used again after a gap, nor at sweeps in a row: what a crowded sweep looks at. */
function isFresh(db: Parkable): boolean {
  const habit = habits.get(db);
  return habit === undefined || (habit.rhythm === undefined && habit.streak < 2);
}

/**
 * When a connection is expected to be used next (performance.now() ms): its last use plus the rhythm
 * of its traffic; -Infinity while it cannot be parked.
 */
export function nextUseExpected(db: Parkable, now: number): number {
  if (db.busy) return Number.NEGATIVE_INFINITY;
  const habit = habitOf(db);
  return (db.used ? now : habit.lastSeenUsed) + (habit.rhythm ?? LIMITS.keepRhythmUpToMs);
}

/** Watched open connections, and each one's index in that array (removed by swapping with the last). */
const open: Parkable[] = [];
const slots = new Map<Parkable, number>();
let timer: ReturnType<typeof setInterval> | undefined;
let sweepMs: number = LIMITS.parkIdleConnectionAfterMs;
/** When the timer last swept every connection, and last swept any (a crowded sweep looks at fresh ones only). */
let lastSweepAt = performance.now();
let lastLookAt = lastSweepAt;
const DEFAULT_CAP = DESCRIPTOR_LIMIT === undefined ? LIMITS.maxOpenConnectionsFallback : Math.max(64, Math.floor(DESCRIPTOR_LIMIT / 5));
let cap: number = DEFAULT_CAP;
/** Above this many open connections on this thread, fresh ones are swept at the crowded period ({@link shareCrowdedThreshold}). */
let crowdedAt: number = LIMITS.crowdedOpenConnections;
/** The cap follows the descriptors the process holds (unless set); looked at every few seconds. */
let followDescriptors = DESCRIPTOR_LIMIT !== undefined;
let nextLook = 0;
/** How often the cap is worked out again from the descriptors held (a look is one stat of /proc/self/fd). */
const LOOK_EVERY_MS = 1_000;
/**
 * A timer sweep in progress, continued turn by turn: its remaining connections, the time since the
 * previous look at the connections it looks at, and whether it looks at fresh ones only.
 */
let sweeping: { pending: Parkable[]; period: number; freshOnly: boolean } | undefined;

/** Connections a timer sweep parks per turn of the event loop (fewer once CLOSING_MS_PER_TURN is spent): closing hundreds at once stalls replies. */
const PARKS_PER_TURN = 32;
/** Connections a timer sweep looks at per turn: thousands kept open by their rhythm are swept ten times a second while crowded. */
const LOOKS_PER_TURN = 2_048;
/** Connections an open over the cap parks (one, unless the cap fell: the rest follow turn by turn). */
const PARKS_PER_OPEN = 4;
/** Idle connections an open while crowded parks for the sweep in progress: two, so that the sweep catches up with the opens. */
const PARKS_PER_CROWDED_OPEN = 2;
/** Connections an open while crowded looks at for that sweep (thousands kept open by their rhythm are skipped a few at a time). */
const LOOKS_PER_OPEN = 64;

/** Watches an open connection; it is parked after one to two sweeps without use, or when the cap needs room. */
export function watchConnection(db: Parkable): void {
  if (slots.has(db)) return;
  slots.set(db, open.length);
  open.push(db);
  if (open.length > openTarget()) makeRoom(db, PARKS_PER_OPEN);
  else if (open.length > crowdedAt) keepPaceWithOpens(db);
  if (timer === undefined && sweepMs > 0) startTicking();
}

/**
 * The sweep timer ticks at the crowded period (or `sweepMs` when shorter). A tick sweeps every
 * watched connection when `sweepMs` has passed since the last such sweep; in between, while more than
 * `crowdedOpenConnections` are open, it sweeps the fresh ones only (opened and used once, with no
 * rhythm or streak yet). A burst of new agents used once each then keeps a few hundred connections
 * open rather than one to two seconds' worth of them, which made every open in the burst dearer
 * (SQLite walks its list of open files at each open). A connection used again moves out of the fresh
 * ones and is swept at `sweepMs`, as before: steady traffic is not reopened more often.
 */
function startTicking(): void {
  lastSweepAt = lastLookAt = performance.now();
  timer = setInterval(tick, Math.min(sweepMs, LIMITS.parkCrowdedConnectionAfterMs));
  timer.unref();
}

function tick(): void {
  const now = performance.now();
  // Half a tick early counts: interval timers drift.
  const whole = now - lastSweepAt >= sweepMs - Math.min(sweepMs, LIMITS.parkCrowdedConnectionAfterMs) / 2;
  if (!whole && open.length <= crowdedAt) return;
  if (followDescriptors && now >= nextLook) followHeldDescriptors();
  if (sweeping !== undefined) return; // the previous sweep is still going: this one would repeat it
  startSweep(now, whole);
  sweepTurn();
}

function startSweep(now: number, whole: boolean): void {
  sweeping = { pending: [...open], period: now - (whole ? lastSweepAt : lastLookAt), freshOnly: !whole };
  if (whole) lastSweepAt = now;
  lastLookAt = now;
}

/**
 * An open while crowded moves the crowded sweep on, and starts it when its period has come. A turn of
 * the event loop can open more connections than its sweep's time budget closes (a burst of new agents:
 * a few dozen per turn, each turn tens of milliseconds long), and the timer fires only between turns:
 * the sweep then fell behind and a thousand connections used once stayed open, each making every
 * open dearer (SQLite walks its list of open files, twice per file). Moved on by the opens, it keeps
 * pace with them (docs/benchmarks.md, "Crowded sweeps kept by the opens").
 */
function keepPaceWithOpens(opening: Parkable): void {
  if (sweeping === undefined) {
    const now = performance.now();
    if (sweepMs === 0 || now - lastLookAt < LIMITS.parkCrowdedConnectionAfterMs) return;
    startSweep(now, false);
    continueLater(); // goes on between turns too, as the timer's does
  }
  sweepStep(PARKS_PER_CROWDED_OPEN, LOOKS_PER_OPEN, opening);
}

/** The connection was closed or parked: nothing to watch. */
export function unwatchConnection(db: Parkable): void {
  const slot = slots.get(db);
  if (slot === undefined) return;
  slots.delete(db);
  const last = open.pop()!;
  if (last !== db) {
    open[slot] = last;
    slots.set(last, slot);
  }
  if (open.length === 0 && timer !== undefined) {
    clearInterval(timer);
    timer = undefined;
  }
}

/**
 * One sweep, all at once: parks every watched connection unused since the previous sweep (and not
 * kept open). The timer's sweeps do the same a few connections per turn of the event loop.
 * @example
 * parkIdleConnections(); parkIdleConnections(); // twice: every idle connection is closed now
 */
export function parkIdleConnections(): number {
  const now = performance.now();
  let parked = 0;
  for (const db of [...open]) {
    if (parkIfIdle(db, now, sweepMs)) parked++;
  }
  return parked;
}

function continueSweep(): void {
  continuing = false;
  if (sweeping !== undefined) sweepTurn(); // else opens finished it (see watchConnection)
}

/** One turn's share of the sweep in progress; the rest in the next turn. */
function sweepTurn(): void {
  if (!sweepStep(PARKS_PER_TURN, LOOKS_PER_TURN, undefined, CLOSING_MS_PER_TURN)) continueLater();
}

/** Whether a turn of the sweep is queued: one at a time, whichever sweep it finds (opens may finish one and start the next). */
let continuing = false;

function continueLater(): void {
  if (continuing) return;
  continuing = true;
  setImmediate(continueSweep);
}

/**
 * Moves the sweep in progress on by up to `parks` parks and `looks` looks (and `closingMs` of closes),
 * passing over `opening` (being opened now); returns whether it is finished.
 */
function sweepStep(parks: number, looks: number, opening?: Parkable, closingMs: number = Number.POSITIVE_INFINITY): boolean {
  const { pending, period, freshOnly } = sweeping!;
  const now = performance.now();
  let parked = 0;
  let looked = 0;
  let closingSince = 0; // the budget counts closes, not the look at connections kept open
  const spent = () => parked > 0 && performance.now() - closingSince > closingMs;
  while (pending.length > 0 && parked < parks && looked++ < looks && !spent()) {
    const db = pending.pop()!;
    if (parked === 0) closingSince = performance.now();
    if (db !== opening && slots.has(db) && (!freshOnly || isFresh(db)) && parkIfIdle(db, now, period)) parked++;
  }
  if (pending.length > 0) return false;
  sweeping = undefined;
  return true;
}

/** Works the cap out again from the descriptors the process holds now; parks down to it if it fell. */
function followHeldDescriptors(): void {
  nextLook = performance.now() + LOOK_EVERY_MS;
  const fitted = capFromDescriptors(open.length + quietClosesPending());
  if (fitted === undefined) return;
  cap = fitted;
  if (open.length > openTarget()) trimLater(0);
}

/** Connections looked at for each one parked over the cap. */
const SAMPLE = 8;
/** Connections looked at one by one when sampling found none that can be parked. */
const SCAN_PER_OPEN = 64;

/**
 * Over the cap: parks the connections expected to be needed last, like Redis's approximated
 * eviction: of a few picked at random, the one whose next use is furthest away. Under periodic
 * traffic from more agents than the cap, least-recently-used would park exactly the agent whose
 * message comes next; this keeps about `cap / agents` of the messages on open connections.
 * `opening` (the connection being opened now) is never parked.
 */
function makeRoom(opening: Parkable | undefined, budget: number = PARKS_PER_TURN): void {
  const now = performance.now();
  const stop = open.length - budget; // parks at most `budget` here: closing hundreds in one turn stalls replies
  const over = () => open.length > openTarget() && open.length > stop;
  for (let misses = 0; over() && misses < 32; ) {
    let victim: Parkable | undefined;
    let latest = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < SAMPLE; k++) {
      const db = open[Math.floor(Math.random() * open.length)]!;
      if (db === opening) continue;
      const next = nextUseExpected(db, now);
      if (next > latest) {
        latest = next;
        victim = db;
      }
    }
    if (victim === undefined || !victim.park()) misses++;
  }
  // Sampling kept hitting connections in the middle of a transaction: look at a few more, from a
  // place that moves on. Never all of them per open: in a turn where thousands of agents woke, that
  // would cost the square of their number and make the turn, and the next one, longer still.
  for (let seen = 0; over() && seen < Math.min(open.length, SCAN_PER_OPEN); seen++) {
    hand = (hand + 1) % open.length;
    const db = open[hand]!;
    if (db !== opening && !db.busy) db.park();
  }
  // Still over: the rest are in transactions (many agents wrote in this turn; their commits end the
  // turn), or this call's budget is spent (the cap fell). Again after this turn, a few at a time,
  // then every 50 ms while only transactions are left.
  if (open.length > openTarget()) trimLater(open.length > stop && opening === undefined ? 50 : 0);
}

function trimLater(delayMs: number): void {
  if (trim !== undefined) return;
  trim = setTimeout(() => {
    trim = undefined;
    makeRoom(undefined);
  }, delayMs);
  trim.unref();
}

let hand = 0;
let trim: ReturnType<typeof setTimeout> | undefined;

/**
 * Runs `openFile`; if it fails because the process has no file descriptors left (sockets
 * and connections together reached the limit), lowers the cap on open connections to 90 % of those
 * open now, parks down to it, says so once, and tries again.
 */
export function openWithDescriptors<T>(openFile: () => T): T {
  try {
    return openFile();
  } catch (error) {
    if (!descriptorsExhausted() || openConnectionCount() < 2) throw error;
    const lowered = Math.max(1, Math.floor((openConnectionCount() + quietClosesPending()) * 0.9));
    if (!warnedExhausted) {
      warnedExhausted = true;
      console.warn(`[hearth] the process ran out of file descriptors with ${openConnectionCount()} SQLite connections open: the cap on open connections (maxOpenConnections) is now ${lowered}. Raise the limit (ulimit -n) or lower maxOpenConnections.`);
    }
    cap = Math.min(cap, lowered);
    makeRoom(undefined, Number.POSITIVE_INFINITY); // out of descriptors: room now
    return openFile();
  }
}

let warnedExhausted = false;

/**
 * Whether the process is (nearly) out of descriptors: three opens, what an agent file needs (the
 * database, its -wal, the directory for a sync). The failed open has already closed what it got.
 */
function descriptorsExhausted(): boolean {
  const probes: number[] = [];
  try {
    for (let k = 0; k < 3; k++) probes.push(openSync("/dev/null", "r"));
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EMFILE" || (error as NodeJS.ErrnoException).code === "ENFILE";
  } finally {
    for (const fd of probes) closeSync(fd);
  }
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
  if (open.length > 0 && sweepMs > 0) startTicking();
}

/**
 * Most SQLite connections open at once in this process; above it connections are parked at once,
 * those expected to be used last first, whatever keeps them open otherwise (not during a transaction). Each open connection holds two file
 * descriptors (the database and its -wal), so the default is a fifth of the process's descriptor
 * limit: 40 % for SQLite, the rest for sockets.
 * @example
 * setOpenConnectionCap(1_000);
 */
export function setOpenConnectionCap(connections: number): void {
  if (!Number.isInteger(connections) || connections < 1) throw new RangeError(`maxOpenConnections must be an integer ≥ 1, got ${connections}`);
  cap = connections;
  followDescriptors = false;
}

/**
 * The default: the cap follows the descriptors the process holds, looked at every second — what the
 * descriptor limit leaves after sockets and everything else, less a margin of a quarter of the limit, is
 * for SQLite (two descriptors a connection). `start` is the cap until the first look.
 * @example
 * followDescriptorLimit(2_000); // 7,500 sockets under a limit of 20,000: ~3,700 connections after the first look
 */
export function followDescriptorLimit(start: number = DEFAULT_CAP): void {
  cap = Math.max(1, start);
  followDescriptors = DESCRIPTOR_LIMIT !== undefined;
  nextLook = 0;
}

/**
 * This thread's share of `crowdedOpenConnections` when `threads` threads of the process open agent
 * files: the list SQLite walks at each open is the process's, so two threads crowded at 256 each made
 * every open pay for 512 (docs/benchmarks.md, "Crowded sweeps kept by the opens").
 * @example
 * shareCrowdedThreshold(2); // each of two threads sweeps fresh connections once it has 128 open
 */
export function shareCrowdedThreshold(threads: number): void {
  crowdedAt = Math.max(1, Math.floor(LIMITS.crowdedOpenConnections / Math.max(1, threads)));
}

/** The cap on open connections now ({@link setOpenConnectionCap}). */
export function openConnectionCap(): number {
  return cap;
}

/**
 * Parked connections whose close runs in the background (quiet-close.ts) still hold their
 * descriptors: an eighth of the cap is kept for them, so open and closing together stay under it.
 */
export function closingReserve(): number {
  return cap >> 3;
}

/** How many watched connections may be open: the cap less the room kept for closing ones. */
function openTarget(): number {
  return cap - closingReserve();
}

/** Connections open now (not parked, not closed). */
export function openConnectionCount(): number {
  return open.length;
}

/** The cap on open connections until the first look at the descriptors held: a fifth of the limit (4,096 where it cannot be read), at least 64. */
export function defaultOpenConnectionCap(): number {
  return DEFAULT_CAP;
}
