/**
 * The host's watchdog over one worker's calls. The engine checks a call's CPU budget and wall clock
 * at its interrupt, which comes only between bytecodes: a builtin that loops natively over a length
 * (`a.length = 2 ** 32 - 1; a.forEach(f)`, `indexOf`, `sort`, … on an array or an array-like up to
 * 2^53 - 1) runs no bytecode and checks nothing for minutes. So, while calls are in flight, the host
 * looks at the worker's run state (run-state.ts) every `STUCK_LOOK_EVERY_MS`: the same sandbox's code
 * running in one stretch, not waiting for the host, is stuck once that stretch alone has used more
 * CPU time than the call's whole budget plus the grace, or has lasted past the call's deadline plus
 * the grace. Code that checks its limits cannot do either: it is stopped within a millisecond of
 * passing one. The worker is then stopped for good (pool-worker.ts), as nothing else can end it.
 */
import { clearInterval, setInterval } from "node:timers"; // Node's own: never an application's fake one
import { POOL_LIMITS } from "./limits.ts";
import type { RunSnapshot, RunStateReader } from "./run-state.ts";

/** A call in flight, as the watchdog judges it. */
export interface WatchedCall {
  /** Its wall-clock deadline (performance.now() of the host thread). */
  deadline: number;
  cpuMs: number;
}

/** The limit a stuck call is past. */
export type StuckLimit = "cpuMs" | "wallMs";

export interface StuckWatchOptions {
  reader: RunStateReader;
  /** The worker thread's CPU time so far, in ms; undefined where it cannot be read (Node without `Worker.cpuUsage`). */
  cpuMs: () => Promise<number | undefined>;
  graceMs: number;
  /** The call in flight of context `ctx`, if it has one. */
  callOf: (ctx: number) => WatchedCall | undefined;
  /** Context `ctx`'s call is stuck past `limit`. Told once; the watch stops. */
  onStuck: (ctx: number, limit: StuckLimit) => void;
}

/** A stretch of running first seen at `since`, with the thread's CPU time then. */
interface Stretch {
  ctx: number;
  stretch: number;
  since: number;
  cpu: number | undefined;
}

export class StuckWatch {
  readonly #options: StuckWatchOptions;
  #timer: NodeJS.Timeout | undefined;
  #looking = false;
  #seen: Stretch | undefined;

  constructor(options: StuckWatchOptions) {
    this.#options = options;
  }

  /** Looks from now on (again), until `stop`. Never keeps the process alive. */
  start(): void {
    if (this.#timer) return;
    this.#seen = undefined;
    this.#timer = setInterval(() => void this.#look(), POOL_LIMITS.stuckLookEveryMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#seen = undefined;
  }

  async #look(): Promise<void> {
    if (this.#looking) return;
    this.#looking = true;
    try {
      const before = this.#options.reader.look();
      if (!running(before)) {
        this.#seen = undefined;
        return;
      }
      const cpu = await this.#options.cpuMs();
      const after = this.#options.reader.look();
      if (!this.#timer) return;
      if (!running(after) || after.stretch !== before.stretch || after.ctx !== before.ctx) {
        this.#seen = undefined;
        return;
      }
      const now = performance.now();
      const seen = this.#seen;
      if (!seen || seen.stretch !== before.stretch || seen.ctx !== before.ctx) {
        this.#seen = { ctx: before.ctx, stretch: before.stretch, since: now, cpu };
        return;
      }
      const call = this.#options.callOf(before.ctx);
      if (!call) return;
      const grace = this.#options.graceMs;
      const limit: StuckLimit | undefined =
        cpu !== undefined && seen.cpu !== undefined && cpu - seen.cpu > call.cpuMs + grace ? "cpuMs" : now > call.deadline + grace && now - seen.since > grace ? "wallMs" : undefined;
      if (!limit) return;
      this.stop();
      this.#options.onStuck(before.ctx, limit);
    } finally {
      this.#looking = false;
    }
  }
}

/** Some sandbox's code runs, and does not sleep for the host. */
function running(look: RunSnapshot): boolean {
  return look.ctx !== 0 && !look.waiting;
}
