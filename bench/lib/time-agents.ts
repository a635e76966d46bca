/**
 * The agents of the durable-time benchmarks (bench/schedule-*.ts). Scheduled callbacks record into
 * process-global arrays, so the benchmark can read what ran, when, and where.
 */
import { Agent } from "../../dist/index.js";
import type { Schedule } from "../../dist/schedule/types.js";
import { mulberry32 } from "./common.ts";

/** Wall-clock now in ms with sub-millisecond resolution, on the same epoch as `Date.now()`. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The firing benchmarks' due times: `agents × perAgent` slots, slot k due at
 * `start + k * windowMs / total` (whole ms, as a Date holds), shuffled over the agents with a fixed seed.
 * @example
 * const slots = firingPlan(Date.now() + 2_000, 1_000, 10, 1_000); // slots[a]: agent a's { id, at }
 */
export function firingPlan(start: number, agents: number, perAgent: number, windowMs: number): Array<Array<{ id: number; at: number }>> {
  const total = agents * perAgent;
  const order = Array.from({ length: total }, (_, k) => k);
  const next = mulberry32(42);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return Array.from({ length: agents }, (_, a) => order.slice(a * perAgent, (a + 1) * perAgent).map((k) => ({ id: k, at: start + Math.floor((k * windowMs) / total) })));
}

/** One run of a scheduled callback. */
export interface Firing {
  /** The schedule's payload: a number unique within one round. */
  id: number;
  /** ms between the schedule's due time and the moment its callback ran. */
  lateness: number;
}

/** Every run of `Alarm.fire` in this process, in order. */
export const firings: Firing[] = [];

/** Firing accuracy: `arm` schedules one-off Date schedules whose callback records its lateness. */
export class Alarm extends Agent {
  static callables = ["ping", "arm"];

  ping(): boolean {
    return true;
  }

  /** Schedules `fire` at each time (epoch ms); the payload is the matching id. */
  async arm(slots: Array<{ id: number; at: number }>): Promise<number> {
    for (const slot of slots) await this.schedule(new Date(slot.at), "fire", slot.id);
    return slots.length;
  }

  fire(id: number, schedule: Schedule<number>): void {
    firings.push({ id, lateness: preciseNow() - schedule.dueAt });
  }
}

/** Runs of `Backlog.fire` in this process: which agent, and when (performance.now()). */
export const backlogRuns: Array<{ name: string; at: number }> = [];

/** Boot with a backlog: `plant` sets an agent's schedules (the fixture's template); `fire` records the agent. */
export class Backlog extends Agent {
  static callables = ["plant"];

  async plant(times: number[]): Promise<string[]> {
    const ids: string[] = [];
    for (const [i, at] of times.entries()) ids.push((await this.schedule(new Date(at), "fire", i)).id);
    return ids;
  }

  fire(): void {
    backlogRuns.push({ name: this.name, at: performance.now() });
  }
}

/** Seconds of delay that no run of the benchmark reaches: the schedules never fire. */
const FAR_DELAY_S = 3600;

/**
 * Schedule/cancel throughput: loops of `schedule()` / `cancelSchedule()` inside one event, timed inside
 * the agent; `scheduleOne` / `cancelOne` are the same work one RPC at a time.
 */
export class Planner extends Agent {
  static callables = ["scheduleMany", "cancelAll", "scheduleOne", "cancelOne", "pending"];
  #ids: string[] = [];

  /** Schedules `n` callbacks an hour from now; returns the ms the loop took. */
  async scheduleMany(n: number): Promise<number> {
    const start = performance.now();
    for (let i = 0; i < n; i++) this.#ids.push((await this.schedule(FAR_DELAY_S, "noop", i)).id);
    return performance.now() - start;
  }

  /** Cancels everything `scheduleMany` made; returns the ms the loop took, or throws if one was missing. */
  async cancelAll(): Promise<number> {
    const ids = this.#ids;
    this.#ids = [];
    const start = performance.now();
    for (const id of ids) {
      if (!(await this.cancelSchedule(id))) throw new Error(`schedule ${id} was not there to cancel`);
    }
    return performance.now() - start;
  }

  async scheduleOne(i: number): Promise<string> {
    return (await this.schedule(FAR_DELAY_S, "noop", i)).id;
  }

  async cancelOne(id: string): Promise<boolean> {
    return this.cancelSchedule(id);
  }

  async pending(): Promise<number> {
    return (await this.listSchedules()).length;
  }

  noop(): void {}
}
