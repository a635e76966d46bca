import { existsSync } from "node:fs";
import { join } from "node:path";
import { HANDLE } from "../agent/agent-base.ts";
import type { Durability } from "../limits.ts";
import type { ActorCell } from "./cell.ts";
import { indexName } from "./place.ts";
import { agentTaskRunner, type TaskDelivery } from "../schedule/agent-runner.ts";
import { TaskDispatcher } from "../schedule/dispatcher.ts";
import { DueIndex, dueIndexPath, type DueEntry } from "../schedule/due-index.ts";
import { fiberWakeInFile } from "../fiber/index-rebuild.ts";
import { rebuildDueIndex, type WakeSource } from "../schedule/rebuild-index.ts";
import { RunJournal } from "../schedule/run-journal.ts";
import type { Clock } from "../time/clock.ts";
import { WorkflowEngine, type EngineHost } from "../workflow/engine.ts";
import type { WorkflowClass } from "../workflow/entrypoint.ts";
import { WorkflowStore } from "../workflow/store.ts";

/** Index entries of workflow instances carry this prefix instead of an agent class slug. */
const WORKFLOW_PREFIX = "workflow:";
/** What else in an agent's file asks the host to wake it, besides its schedules and queue. */
const WAKE_SOURCES: readonly WakeSource[] = [fiberWakeInFile];

export interface TimekeeperOptions {
  dataDir: string;
  durability: Durability;
  clock: Clock;
  hungTaskAfterMs: number;
  /** Index entries woken at once. */
  concurrency: number;
  workflows: ReadonlyMap<string, WorkflowClass>;
  /** Runs a step against an agent's tasks (by class slug), in its mailbox. */
  deliver: TaskDelivery;
  /** The engine's view of the host: env, agent stubs and hooks. */
  engineHost: Omit<EngineHost, "clock" | "wakeAt">;
  /** Problems of scheduled work; `who` is an agent class slug or "workflow:<binding>". */
  report: (who: string, name: string, error: Error) => void;
}

/**
 * Everything about durable time for one host: the due index (`host.sqlite`), its dispatcher, the
 * agents' task runner and the workflow engine (`workflows.sqlite`), wired so that one timer serves
 * agents' schedules and workflow instances' sleeps, waits and retries alike.
 */
export class Timekeeper {
  readonly index: DueIndex;
  readonly dispatcher: TaskDispatcher;
  readonly workflows: WorkflowEngine | undefined;
  readonly #journal: RunJournal;
  #stopped = false;
  #wakes: DueEntry[] = [];
  /** The index file was missing: waiting workflow instances have no timers in it. */
  readonly #freshIndex: boolean;

  /** Sets an actor's index entry from its committed tasks (as it leaves memory), so it is not woken for nothing. */
  reconcile(cell: ActorCell): void {
    if (cell.closed) return;
    try {
      cell.db.flush();
      const tasks = cell.instance[HANDLE.tasks]();
      if (tasks.hasTasks) this.dispatcher.reconcile(cell.place.rootSlug, indexName(cell.place), tasks.nextDue());
    } catch (error) {
      console.error(`[hearth] ${cell.binding.className}/${cell.name}: could not update the schedule index:`, error);
    }
  }

  constructor(options: TimekeeperOptions) {
    const indexPath = dueIndexPath(options.dataDir);
    this.#freshIndex = !existsSync(indexPath);
    const rebuild = this.#freshIndex && existsSync(join(options.dataDir, "agents"));
    this.index = new DueIndex(indexPath, options.durability);
    if (rebuild) {
      const started = performance.now();
      const { agents, entries } = rebuildDueIndex(options.dataDir, this.index, { now: options.clock.now(), wakeSources: WAKE_SOURCES });
      const ms = Math.round(performance.now() - started);
      console.error(`[hearth] rebuilt the schedule index (${indexPath}) from ${agents} agent files in ${ms} ms: ${entries} with pending work`);
    }
    if (options.workflows.size > 0) {
      // Timers of instances that park are written in one batch, committed before the store's commit
      // that marks them waiting: a waiting instance always has its timer.
      const store = new WorkflowStore(join(options.dataDir, "workflows.sqlite"), options.durability, () => this.#flushWakes());
      this.workflows = new WorkflowEngine(store, options.workflows, {
        ...options.engineHost,
        clock: options.clock,
        wakeAt: (workflow, id, at) => {
          this.#wakes.push({ slug: WORKFLOW_PREFIX + workflow, name: id, at });
        },
      });
    }
    const journalPath = join(options.dataDir, "tasks.journal");
    const unfinished = RunJournal.recover(journalPath);
    this.#journal = new RunJournal(journalPath);
    const runAgentTasks = agentTaskRunner({
      journal: this.#journal,
      unfinished,
      deliver: options.deliver,
      clock: options.clock,
      hungTaskAfterMs: options.hungTaskAfterMs,
      report: options.report,
      stopped: () => this.#stopped,
    });
    this.dispatcher = new TaskDispatcher({
      index: this.index,
      clock: options.clock,
      concurrency: options.concurrency,
      retryAfterMs: options.hungTaskAfterMs,
      report: options.report,
      wake: (slug, name) => {
        if (!slug.startsWith(WORKFLOW_PREFIX)) return runAgentTasks(slug, name);
        // The entry goes once the instance is durably running (then the boot scan covers a crash);
        // the instance sets its next timer itself when it waits again.
        return this.workflows?.wake(slug.slice(WORKFLOW_PREFIX.length), name) ?? Promise.resolve(null);
      },
    });
  }

  /** Arms the timer and resumes the workflow instances that were running. */
  start(): void {
    this.dispatcher.start();
    this.workflows?.boot({ includeWaiting: this.#freshIndex });
  }

  /** Resolves when no scheduled task runs and no workflow instance executes. */
  async idle(): Promise<void> {
    for (;;) {
      await this.dispatcher.idle();
      await this.workflows?.idle();
      if (this.dispatcher.inFlight === 0 && (this.workflows?.runningCount ?? 0) === 0) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  #flushWakes(): void {
    if (this.#wakes.length === 0) return;
    const wakes = this.#wakes;
    this.#wakes = [];
    this.dispatcher.lowerMany(wakes);
  }

  stop(): void {
    this.#stopped = true;
    this.dispatcher.stop();
  }

  close(): void {
    this.#flushWakes();
    this.stop();
    this.workflows?.close();
    this.index.close();
    this.#journal.close();
  }
}
