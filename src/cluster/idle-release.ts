import { clearInterval, setInterval } from "node:timers"; // Node's own: never an application's fake one
import { setTimeout as sleep } from "node:timers/promises";

/** How long a held agent may go unused before its node gives its lease back: 10 minutes. */
export const RELEASE_IDLE_AFTER_MS = 600_000;

/** The longest delay a Node timer takes (a longer one fires after 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The period of `releaseIdleAfterMs` (default {@link RELEASE_IDLE_AFTER_MS}); throws a RangeError naming
 * the option for anything but 0 (never) to the longest timer Node takes.
 * @example idleReleasePeriod(undefined); // 600000
 */
export function idleReleasePeriod(releaseIdleAfterMs: number | undefined): number {
  const everyMs = releaseIdleAfterMs ?? RELEASE_IDLE_AFTER_MS;
  if (!(everyMs >= 0 && everyMs <= MAX_TIMER_MS)) {
    throw new RangeError(`releaseIdleAfterMs must be a number of milliseconds from 0 (never) to ${MAX_TIMER_MS} (~24.8 days, the longest timer), got ${String(releaseIdleAfterMs)}`);
  }
  return everyMs;
}

/** Leases given back at once by one look (each is a few Postgres statements). */
const RELEASES_AT_ONCE = 8;

export interface IdleReleaseOptions {
  /** The period of use, in ms: an agent unused for one to two of them is given back. 0: never; default {@link RELEASE_IDLE_AFTER_MS}. */
  everyMs: number | undefined;
  /** Whether this node may give leases back now (a live member, not draining or closed). */
  active(): boolean;
  /**
   * Ends a period of use: the held agents nothing reached in it and nothing holds now (Ownership.endUsePeriod),
   * none of them due to wake before `nextLook` (epoch ms): its holder fires those on time.
   */
  idle(nextLook: number): string[];
  /** Gives the lease of `actorId` back unless it was reached since it was listed; true when it was. */
  giveBack(actorId: string): Promise<boolean>;
}

/**
 * Gives back the leases of agents a node holds but nobody uses: once a period it lists the held agents
 * that nothing reached through it and that have nothing in the host (no instance, sub-agent or facet in
 * memory, no WebSocket, no task due before the next look), and releases their leases. Without it a node keeps the lease (and what it keeps
 * per lease) of every agent it ever served until it stops. The next event of a released agent claims it
 * again — on whichever node it reaches — and rebuilds its file from the log
 * (docs/cluster/README.md, "What a node keeps per agent").
 * @example
 * const release = new IdleRelease({ everyMs: 600_000, active, idle, giveBack });
 * release.start();
 * await release.stop();
 */
export class IdleRelease {
  readonly #options: IdleReleaseOptions & { everyMs: number };
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  #stopped = false;

  constructor(options: IdleReleaseOptions) {
    this.#options = { ...options, everyMs: idleReleasePeriod(options.everyMs) };
  }

  start(): void {
    if (this.#options.everyMs === 0 || this.#timer !== undefined || this.#stopped) return;
    this.#timer = setInterval(() => void this.look().catch((error: unknown) => console.error("[hearth] cluster: giving idle agents back failed:", error)), this.#options.everyMs).unref();
  }

  /**
   * Ends a period now and gives back the leases of the agents idle through it; resolves to how many
   * were given back. A look under way is joined, not doubled.
   */
  look(): Promise<number> {
    this.#running ??= this.#look().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #look(): Promise<number> {
    if (this.#stopped || !this.#options.active()) return 0;
    const idle = this.#options.idle(Date.now() + this.#options.everyMs);
    let released = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < idle.length && !this.#stopped && this.#options.active()) {
        const actorId = idle[next++]!;
        if (await this.#options.giveBack(actorId)) released++;
        await sleep(0); // a long list never holds the event loop
      }
    };
    await Promise.all(Array.from({ length: Math.min(RELEASES_AT_ONCE, idle.length) }, worker));
    return released;
  }

  /** Stops looking; waits for a look under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running?.catch(() => undefined);
  }
}
