import type { Clock } from "../time/clock.ts";
import { formatDuration } from "../time/duration.ts";
import type { AgentTasks, RunOutcome } from "./agent-tasks.ts";
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
}

/** Tasks run per agent before it goes back to the end of the line. */
const RUNS_PER_TURN = 1000;

/**
 * What the dispatcher does when an agent is due: run its due tasks one by one, each as its own event
 * in the agent's mailbox, and return its next due time.
 */
export function agentTaskRunner(options: AgentRunnerOptions): (slug: string, name: string) => Promise<number | null> {
  const { deliver, clock } = options;

  async function runOne(slug: string, name: string, ref: TaskRef): Promise<void> {
    const running = deliver(slug, name, (tasks) => tasks.run(ref, clock.now()));
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<"hung">((resolve) => {
      // Real time on purpose: a hung callback is stuck in this world, not in a virtual one.
      timer = setTimeout(() => resolve("hung"), options.hungTaskAfterMs);
      timer.unref();
    });
    let outcome: RunOutcome | "hung";
    try {
      outcome = await Promise.race([running, hung]);
    } catch (error) {
      await deliver(slug, name, (tasks) => tasks.failed(ref, error, clock.now()));
      return;
    } finally {
      clearTimeout(timer);
    }
    if (outcome !== "hung") return;
    running.catch(() => {}); // it may still finish; the task row no longer belongs to it
    const message = `${ref.kind} ${ref.id} has not finished after ${formatDuration(options.hungTaskAfterMs)} (hungTaskAfterMs); reported as hung and retried`;
    options.report(slug, name, new Error(message));
    await deliver(slug, name, (tasks) => tasks.hung(ref, message, clock.now()));
  }

  return async (slug, name) => {
    let runs = 0;
    while (runs < RUNS_PER_TURN && !options.stopped()) {
      const due = await deliver(slug, name, (tasks) => tasks.due(clock.now(), 64));
      if (due.length === 0) break;
      for (const ref of due) {
        if (options.stopped()) break;
        await runOne(slug, name, ref);
        runs++;
      }
    }
    return deliver(slug, name, (tasks) => tasks.nextDue());
  };
}
