import { existsSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { setImmediate } from "node:timers"; // Node's own: never an application's fake one
import { HANDLE } from "../agent/agent-base.ts";
import type { Durability } from "../limits.ts";
import type { ActorCell } from "./cell.ts";
import { indexName } from "./place.ts";
import { agentTaskRunner, type TaskDelivery } from "../schedule/agent-runner.ts";
import { TaskDispatcher } from "../schedule/dispatcher.ts";
import { DueIndex, dueIndexPath, type DueEntry } from "../schedule/due-index.ts";
import { readEntry, rebuildDueIndex, type FileWakeSource } from "../schedule/rebuild-index.ts";
import { RunJournal } from "../schedule/run-journal.ts";
import type { AgentDatabase } from "../storage/database.ts";
import { openConnectionCap } from "../storage/parking.ts";
import type { Clock } from "../time/clock.ts";
import type { TimedWork, TimedWorkHost } from "./timed-work.ts";


export interface TimekeeperOptions {
  /** Where the agents' files are (read to rebuild a missing index). */
  dataDir: string;
  /** Where the index and the task journal live. */
  stateDir: string;
  /** Only these root agents get index entries from a rebuild (a host that runs some of the agents). */
  owns?: (slug: string, name: string) => boolean;
  durability: Durability;
  clock: Clock;
  hungTaskAfterMs: number;
  /** Index entries woken at once. */
  concurrency: number;
  /** The host's bound on agents in memory (agents started ahead of their schedules count against it). */
  maxLiveAgents: number;
  /** What else in an agent's file asks for a wake, besides its schedules and queue (fibers awaiting recovery). */
  wakeSources: readonly FileWakeSource[];
  /** Work besides agents the index wakes (workflow instances), each under its own slug prefix. */
  timedWork: readonly TimedWork[];
  /** Runs a step against an agent's tasks (by class slug), in its mailbox. */
  deliver: TaskDelivery;
  /** What timed work sees of the host besides the index: env, agent stubs and hooks. */
  timedWorkHost: Omit<TimedWorkHost, "clock" | "durability" | "stateDir" | "lowerTimers">;
  /** Problems of scheduled work; `who` is an agent class slug or a timed work's prefix and key ("workflow:<binding>"). */
  report: (who: string, name: string, error: Error) => void;
  /** Told whenever a root agent's entry in the index changes (a cluster keeps a shared copy; see `PlacementTime` in placement.ts). */
  nextWakeChanged?: (slug: string, name: string, at: number | null) => void;
}

/**
 * Everything about durable time for one host: the due index (`host.sqlite`), its dispatcher, the
 * agents' task runner and the timed work plugged in (workflow instances), wired so that one timer
 * serves agents' schedules and workflow instances' sleeps, waits and retries alike.
 */
export class Timekeeper {
  readonly index: DueIndex;
  readonly dispatcher: TaskDispatcher;
  readonly #timedWork: readonly TimedWork[];
  readonly #wakeSources: readonly FileWakeSource[];
  readonly #journal: RunJournal;
  readonly #clock: Clock;
  #stopped = false;
  /** The index file was missing: waiting workflow instances have no timers in it. */
  readonly #freshIndex: boolean;

  /**
   * Sets an actor's index entry as it leaves memory, in one write, from everything in its file that
   * asks for a wake (its tasks, and the wake sources: fibers awaiting recovery), so it is not woken
   * for nothing. An entry announced early while the actor was in memory is raised to the real time
   * here. One is whenever a fiber's recovery runs on a live agent (an agent started ahead of its due
   * time is live when the retry comes due): the agent first announces it one keep-alive interval on,
   * and the later retry time it records cannot raise that, since an announcement only ever lowers.
   */
  reconcile(cell: ActorCell): void {
    if (cell.closed) return;
    try {
      cell.db.flush();
      const tasks = cell.instance[HANDLE.tasks]();
      let known = tasks.hasTasks;
      let at = known ? tasks.nextDue() : null;
      for (const source of this.#wakeSources) {
        if (!cell.db.hasTable(source.table)) continue;
        const wake = source.read(liveReader(cell.db), this.#clock.now());
        if (wake === null) continue;
        known = true;
        at = at === null ? wake : Math.min(at, wake);
      }
      // Nothing in the file asks for a wake: an entry left over costs at most one wake, which removes it.
      if (known) this.dispatcher.reconcile(cell.place.rootSlug, indexName(cell.place), at);
    } catch (error) {
      console.error(`[hearth] ${cell.binding.className}/${cell.name}: could not update the schedule index:`, error);
    }
  }

  /**
   * Indexes a file that arrived without its actor running (a facet copied by `clone`): its alarm and
   * tasks are then due even while nothing wakes it. Not its fibers: those copied mid-run are still
   * running in the source, and recovering them in the copy at once would do their work twice.
   */
  indexFile(file: string): void {
    const entry = readEntry(file, this.#clock.now(), []);
    if (entry !== undefined) this.dispatcher.lower(entry.slug, entry.name, entry.at);
  }

  constructor(options: TimekeeperOptions) {
    this.#clock = options.clock;
    // Checked before any file opens: a refused setting leaves nothing behind.
    for (const work of options.timedWork) {
      if (!/^[a-z][a-z0-9-]*:$/.test(work.prefix)) throw new TypeError(`A timed work's prefix is a lower-case word ending in ":" (it must not look like an agent's storage slug), got ${JSON.stringify(work.prefix)}`);
    }
    this.#timedWork = options.timedWork;
    this.#wakeSources = options.wakeSources;
    const indexPath = dueIndexPath(options.stateDir);
    this.#freshIndex = !existsSync(indexPath);
    const rebuild = this.#freshIndex && existsSync(join(options.dataDir, "agents"));
    const isTimedWork = (slug: string) => this.#workOf(slug) !== undefined;
    this.index = options.nextWakeChanged ? new ObservedDueIndex(indexPath, options.durability, options.nextWakeChanged, isTimedWork) : new DueIndex(indexPath, options.durability);
    if (rebuild) {
      const started = performance.now();
      const { agents, entries } = rebuildDueIndex(options.dataDir, this.index, {
        now: options.clock.now(),
        wakeSources: options.wakeSources.map(({ read }) => read),
        ...(options.owns ? { owns: options.owns } : {}),
      });
      const ms = Math.round(performance.now() - started);
      // Routine (a new thread count, a data dir moved in, a lost index file): said, not alarmed about.
      console.log(`[hearth] rebuilt the schedule index (${indexPath}) from ${agents} agent files in ${ms} ms: ${entries} with pending work`);
    }
    for (const work of options.timedWork) {
      work.attach({
        ...options.timedWorkHost,
        clock: options.clock,
        durability: options.durability,
        stateDir: options.stateDir,
        lowerTimers: (entries) => {
          const list: DueEntry[] = [];
          for (const { key, name, at } of entries) list.push({ slug: work.prefix + key, name, at });
          if (list.length > 0) this.dispatcher.lowerMany(list);
        },
      });
    }
    const journalPath = join(options.stateDir, "tasks.journal");
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
      report: options.report,
      wakeAhead: { limit: () => startAheadLimit(options.concurrency, options.maxLiveAgents) },
      wake: (slug, name) => {
        const work = this.#workOf(slug);
        if (work === undefined) {
          // An agent this host no longer holds (a cluster node that lost it): its holder's index has
          // the entry (restored with the agent), so this one goes instead of failing on every retry.
          const owns = options.owns;
          if (owns && !owns(slug, name.split("\0")[0]!)) return Promise.resolve(null);
          return runAgentTasks(slug, name);
        }
        return work.wake(slug.slice(work.prefix.length), name);
      },
      // Agents are started ahead of their due time (decision 0017); timed work needs no start.
      warm: (slug, name) => (isTimedWork(slug) ? Promise.resolve() : options.deliver(slug, name, (tasks) => tasks.warm())),
    });
  }

  /** The timed work an index slug belongs to; undefined for an agent's. */
  #workOf(slug: string): TimedWork | undefined {
    return this.#timedWork.find((work) => slug.startsWith(work.prefix));
  }

  /** Arms the timer and resumes the timed work that was running (workflow instances). */
  start(): void {
    this.dispatcher.start();
    for (const work of this.#timedWork) work.start(this.#freshIndex);
  }

  /** Resolves when no scheduled task runs and no timed work executes. */
  async idle(): Promise<void> {
    for (;;) {
      await this.dispatcher.idle();
      await Promise.all(this.#timedWork.map((work) => work.idle()));
      if (this.dispatcher.inFlight === 0 && this.#timedWork.every((work) => work.running === 0)) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  stop(): void {
    this.#stopped = true;
    this.dispatcher.stop();
  }

  close(): void {
    this.stop();
    for (const work of this.#timedWork) work.close();
    this.index.close();
    this.#journal.close();
  }
}

/**
 * A wake source reads a file through `prepare` only: at hibernation the agent's own connection serves
 * it, with its cached statements (no second connection to its file).
 */
function liveReader(db: AgentDatabase): DatabaseSync {
  const reader: Pick<DatabaseSync, "prepare"> = { prepare: (sql: string) => db.statement(sql) };
  return reader as DatabaseSync;
}

/**
 * The due index, telling `changed` of every change to the earliest entry of a root agent's tree (the
 * root and its sub-agents and facets: one read before and after each write; timed work's entries
 * are not told). Every write path of the dispatcher, the wake-ahead and a rebuild goes through these
 * methods, so no change is missed.
 */
class ObservedDueIndex extends DueIndex {
  readonly #changed: (slug: string, name: string, at: number | null) => void;

  readonly #isTimedWork: (slug: string) => boolean;

  constructor(path: string, durability: Durability, changed: (slug: string, name: string, at: number | null) => void, isTimedWork: (slug: string) => boolean) {
    super(path, durability);
    this.#changed = changed;
    this.#isTimedWork = isTimedWork;
  }

  override lower(slug: string, name: string, at: number): void {
    this.#observe([{ slug, name }], () => super.lower(slug, name, at));
  }

  // setMany goes through set.
  override set(slug: string, name: string, at: number | null): void {
    this.#observe([{ slug, name }], () => super.set(slug, name, at));
  }

  override lowerMany(entries: Iterable<DueEntry>): number {
    const list = [...entries];
    return this.#observe(list, () => super.lowerMany(list));
  }

  override removeTree(slug: string, name: string): void {
    this.#observe([{ slug, name }], () => super.removeTree(slug, name));
  }

  /** Runs `write`, then tells of each touched agent tree whose earliest entry it changed. */
  #observe<R>(entries: ReadonlyArray<{ slug: string; name: string }>, write: () => R): R {
    const trees = new Map<string, { slug: string; root: string; before: number | null }>();
    for (const { slug, name } of entries) {
      if (this.#isTimedWork(slug)) continue;
      const root = name.split("\0")[0]!;
      const key = `${slug}\0${root}`;
      if (!trees.has(key)) trees.set(key, { slug, root, before: this.earliestInTree(slug, root) });
    }
    const result = write();
    for (const { slug, root, before } of trees.values()) {
      const after = this.earliestInTree(slug, root);
      if (after === before) continue;
      try {
        this.#changed(slug, root, after);
      } catch (error) {
        console.error(`[hearth] ${slug}/${root}: telling the placement of its next wake failed:`, error);
      }
    }
    return result;
  }
}

/**
 * How many agents may be started ahead of their schedules and wait for them: half of what can stay in
 * memory with its database open — fewer, and a burst of schedules due together (a thousand agents
 * whose first runs fall in the same second) finds most agents still asleep at its time; more, and
 * starting the later ones parks or sheds the earlier ones before they run. At least twice the
 * dispatcher's concurrency.
 */
function startAheadLimit(concurrency: number, maxLiveAgents: number): number {
  return Math.max(2 * concurrency, Math.floor(Math.min(maxLiveAgents, openConnectionCap()) / 2));
}
