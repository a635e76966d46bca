/**
 * Durable work besides agents that the host's one timer drives (workflow instances): its entries sit
 * in the same due index as agents' schedules, under a slug prefix of its own. The host knows only
 * this shape; what the work is lives in its own folder and is handed to the host when it is built.
 */
import type { Durability } from "../limits.ts";
import type { Clock } from "../time/clock.ts";

/** One due-index entry of timed work: `key` is its slug without the prefix (a workflow's binding). */
export interface TimedEntry {
  readonly key: string;
  readonly name: string;
  readonly at: number;
}

/** What the host gives timed work once, while it is built (before its timer runs). */
export interface TimedWorkHost {
  /** The host's env (complete by the time any work runs). */
  readonly env: Record<string, unknown>;
  readonly clock: Clock;
  readonly durability: Durability;
  /** Where the host keeps its own files. */
  readonly stateDir: string;
  /** A stub of an agent by class and name; a sub-agent by its placed name (root name, then child names after NULs). */
  agentStub(className: string, name: string): Record<string, unknown> | undefined;
  /** Calls a method on an agent (a callback, a broadcast); failures are logged, not thrown. */
  notifyAgent(className: string, name: string, method: string, args: unknown[]): Promise<void>;
  /** Makes sure each entry is woken by its time (an entry only ever moves earlier here). */
  lowerTimers(entries: Iterable<TimedEntry>): void;
}

/**
 * Work the host's due index wakes beside agents.
 * @example
 * const host = new ActorHost({ dataDir, agents, timedWork: [new HostedWorkflows({ Onboarding })] });
 */
export interface TimedWork {
  /** Its entries' slug prefix; it ends in ":" (an agent's storage slug is a kebab-case class name). */
  readonly prefix: string;
  /** Called once while the host is built. */
  attach(host: TimedWorkHost): void;
  /** The entry `key`/`name` is due: its next time (epoch ms), or null when the entry can go. */
  wake(key: string, name: string): Promise<number | null>;
  /** The host's timer starts: resume what was running; `freshIndex` (the index was rebuilt): re-arm what waits, too. */
  start(freshIndex: boolean): void;
  /** How many of its tasks run now (waiting ones are not counted). */
  readonly running: number;
  /** Resolves when none of its tasks runs. */
  idle(): Promise<void>;
  close(): void;
}
