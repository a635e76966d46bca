import type { Clock } from "../time/clock.ts";
import { formatDuration } from "../time/duration.ts";
import { afterRealTime } from "../time/real-timeout.ts";
import type { AgentTasks, NextOutcome } from "./agent-tasks.ts";
import { dueKey } from "./due-index.ts";
import type { RunJournal, UnfinishedRun } from "./run-journal.ts";
import type { TaskRef } from "./types.ts";

/** Runs a step against one agent's tasks, as an event in that agent's mailbox (waking it if needed). */
export type TaskDelivery = <T>(slug: string, name: string, step: (tasks: AgentTasks) => T | Promise<T>) => Promise<T>;

export interface AgentRunnerOptions {
  deliver: TaskDelivery;
  clock: Clock;
  /** A run still going after this long is reported as hung and retried. */
  hungTaskAfterMs: number;
  report: (slug: string, name: string, error: Error) => void;
  /** True once the host is shutting down: stop between tasks. */
  stopped: () => boolean;
  /** Where runs are journaled before their callbacks run (the crash detector). */
  journal: RunJournal;
  /** Runs the last process left unfinished: counted as crashes before the agent's next run. */
  unfinished: readonly UnfinishedRun[];
}

/** Tasks run per agent before it goes back to the end of the line. */
const RUNS_PER_TURN = 1000;

/**
 * What the dispatcher does when an agent is due: run its due tasks one by one, each as its own event
 * in the agent's mailbox, and return its next due time.
 */
export function agentTaskRunner(options: AgentRunnerOptions): (slug: string, name: string) => Promise<number | null> {
  const { deliver, clock, journal } = options;
  const crashes = new Map<string, TaskRef[]>();
  for (const { slug, name, ref } of options.unfinished) {
    const key = dueKey(slug, name);
    crashes.set(key, [...(crashes.get(key) ?? []), ref]);
  }

  /** Runs the next due task; returns what runNext said, or "retry" after a failure or hang was handled. */
  async function step(slug: string, name: string): Promise<NextOutcome | "retry"> {
    let current: TaskRef | undefined;
    let token: number | undefined;
    const running = deliver(slug, name, (tasks) =>
      tasks.runNext(clock.now(), (ref) => {
        current = ref;
        token = journal.started(slug, name, ref);
      }),
    );
    let cancelHangTimer: (() => void) | undefined;
    const hung = new Promise<"hung">((resolve) => {
      // Real time on purpose: a hung callback is stuck in this world, not in a virtual one.
      cancelHangTimer = afterRealTime(options.hungTaskAfterMs, () => resolve("hung"));
    });
    let outcome: NextOutcome | "hung";
    try {
      outcome = await Promise.race([running, hung]);
    } catch (error) {
      if (current === undefined) throw error; // the agent could not even start: the dispatcher retries later
      const ref = current;
      await deliver(slug, name, (tasks) => tasks.failed(ref, error, clock.now()));
      if (token !== undefined) journal.finished(token);
      return "retry";
    } finally {
      cancelHangTimer?.();
    }
    if (outcome !== "hung") {
      if (token !== undefined) journal.finished(token);
      return outcome;
    }
    running.catch(() => {}); // it may still finish; the task row no longer belongs to it
    if (current === undefined) return "retry";
    const ref = current;
    const message = `${ref.kind} ${ref.id} has not finished after ${formatDuration(options.hungTaskAfterMs)} (hungTaskAfterMs); reported as hung and retried`;
    options.report(slug, name, new Error(message));
    await deliver(slug, name, (tasks) => tasks.hung(ref, message, clock.now()));
    if (token !== undefined) journal.finished(token); // counted as a crash already
    return "retry";
  }

  return async (slug, name) => {
    const key = dueKey(slug, name);
    const crashed = crashes.get(key);
    if (crashed) {
      await deliver(slug, name, (tasks) => tasks.crashed(crashed));
      crashes.delete(key);
    }
    for (let runs = 0; runs < RUNS_PER_TURN; runs++) {
      if (options.stopped()) return clock.now();
      const outcome = await step(slug, name);
      if (outcome === "retry") continue;
      if (!outcome.more) return outcome.nextDue;
    }
    return clock.now(); // more is due: back in line, after the others
  };
}
