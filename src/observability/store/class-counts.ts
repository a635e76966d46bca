import { COUNT_LOOK_BACK_MS, ErrorBuckets } from "./error-buckets.ts";

/**
 * Agent classes one fingerprint counts apart. Occurrences of further classes (while all these had one
 * in the last day) count in the group's totals only: a `class` filter does not see them.
 */
export const MAX_CLASSES_PER_PROBLEM = 16;

interface Lane {
  readonly lane: number;
  /** The latest occurrence counted in the lane (epoch ms). */
  lastAt: number;
}

/**
 * The occurrences of one error group, each counted under its own agent class (the group's latest
 * class may differ from the one of an earlier occurrence), plus those with no class. A lane per class,
 * made on the class's first occurrence, at most {@link MAX_CLASSES_PER_PROBLEM}; a class with no
 * occurrence for a day gives its lane to the next new class.
 */
export class ErrorCountsByClass {
  readonly #buckets = new ErrorBuckets();
  readonly #classes = new Map<string, Lane>();
  #unclassed: Lane | undefined;
  /** Occurrences of classes past the limit. */
  #otherClasses: Lane | undefined;
  #overLimit = 0;

  /** Counts one occurrence at `time` of `agentClass` (undefined: an error outside any agent). */
  add(time: number, agentClass: string | undefined): void {
    const lane = agentClass === undefined ? (this.#unclassed ??= this.#newLane()) : this.#laneOf(agentClass, time);
    lane.lastAt = Math.max(lane.lastAt, time);
    this.#buckets.add(time, lane.lane);
  }

  /** Occurrences at or after `since` (see {@link ErrorBuckets.countSince}), of `agentClass` only when given. */
  countSince(since: number, now: number, agentClass?: string): number {
    if (agentClass === undefined) return this.#buckets.countSince(since, now);
    const lane = this.#classes.get(agentClass);
    return lane ? this.#buckets.countSince(since, now, lane.lane) : 0;
  }

  /** When `agentClass` last had an occurrence here; undefined if it has no lane (never seen, or past the limit). */
  lastAtOf(agentClass: string): number | undefined {
    return this.#classes.get(agentClass)?.lastAt;
  }

  /** Occurrences counted without their class because {@link MAX_CLASSES_PER_PROBLEM} classes had lanes. */
  get overLimit(): number {
    return this.#overLimit;
  }

  #laneOf(agentClass: string, time: number): Lane {
    const known = this.#classes.get(agentClass);
    if (known) return known;
    if (this.#classes.size < MAX_CLASSES_PER_PROBLEM) return this.#give(agentClass, this.#newLane());
    for (const [idleClass, idle] of this.#classes) {
      // Nothing of a class idle for a day is counted any more: its lane can count another.
      if (idle.lastAt >= time - COUNT_LOOK_BACK_MS) continue;
      this.#classes.delete(idleClass);
      this.#buckets.clearLane(idle.lane);
      return this.#give(agentClass, { lane: idle.lane, lastAt: -Infinity });
    }
    this.#overLimit++;
    return (this.#otherClasses ??= this.#newLane());
  }

  #give(agentClass: string, lane: Lane): Lane {
    this.#classes.set(agentClass, lane);
    return lane;
  }

  #newLane(): Lane {
    return { lane: this.#buckets.addLane(), lastAt: -Infinity };
  }
}
