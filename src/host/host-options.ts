import type { AgentBase } from "../agent/agent-base.ts";
import type { Durability } from "../limits.ts";
import type { Clock } from "../time/clock.ts";
import type { DatabaseReplication } from "../storage/replication.ts";
import type { HostPlacement } from "./placement.ts";
import type { TimedWork } from "./timed-work.ts";
import type { FileWakeSource } from "../schedule/rebuild-index.ts";

/** An Agent subclass (the core needs only what every agent has: `AgentBase`). */
export type AgentClass = abstract new (...args: never[]) => AgentBase;

/** The options of the core actor host; `Host` (the one applications make) adds workflows to them. */
export interface ActorHostOptions {
  /** Where agent databases live. Created if missing. */
  dataDir: string;
  /** Agent classes by binding name; each becomes `env[name]`. */
  agents: Record<string, AgentClass>;
  /**
   * Plain Durable Object classes (extending `DurableObject` from hearth or `cloudflare:workers`) by
   * binding name; each becomes `env[name]`, a Durable Object namespace. They run on the same host as
   * agents: the same input gate, implicit transactions, output gate, hibernation and schedule index.
   */
  durableObjects?: Record<string, abstract new (...args: never[]) => unknown>;
  /**
   * Classes the worker exports without binding them (agents or Durable Objects): usable as sub-agents
   * and facet classes (`ctx.exports`), with no `env` binding and no URL of their own.
   */
  exportedClasses?: Record<string, abstract new (...args: never[]) => unknown>;
  /** Plain variables added to `env` (from .env / .dev.vars). */
  vars?: Record<string, unknown>;
  /**
   * Other values added to `env` under their names: platform bindings (KV, D1, queues, …) built
   * outside the host. A name may not clash with an agent class or a variable.
   */
  bindings?: Record<string, unknown>;
  /** Values added to `env` only under names nothing else took (`LOADER`, unless the app binds its own). */
  defaultBindings?: Record<string, unknown>;
  /** Durable work besides agents that the host's due index wakes (workflow instances); see timed-work.ts. */
  timedWork?: readonly TimedWork[];
  /** What else in an agent's file asks the host to wake it, besides its schedules and queue (fibers awaiting recovery). */
  wakeSources?: readonly FileWakeSource[];
  /**
   * The storage directory name of an agent binding (default: its kebab-case name). A wrangler project
   * keys storage by class name, so renaming a binding keeps its agents' data.
   */
  storageNames?: Record<string, string>;
  /** `relaxed` (default) survives a process crash; `strict` also a power loss. */
  durability?: Durability;
  /** Idle time before an agent hibernates. Default 10 s. */
  hibernateAfterMs?: number;
  /**
   * Time without incoming events after which an agent that only its own pending timers (setTimeout,
   * setInterval) keep from hibernating leaves memory anyway, its timers cancelled. Default 70 s; never
   * less than `hibernateAfterMs`.
   */
  evictAfterMs?: number;
  /** Largest accepted WebSocket frame. Default 1 MiB. */
  maxMessageBytes?: number;
  /**
   * Whether the close reason of a WebSocket whose connect failed carries the exception's message
   * (`1011 Agent failed in onConnect: <message>`), as `serve()`'s `exposeErrors` shows it in a 500:
   * for `hearth dev`. Default false: the reason is generic and the exception only logged.
   */
  exposeErrors?: boolean;
  /** Agents kept in memory at once. Default 4,096. */
  maxLiveAgents?: number;
  /** Time source of schedules and queues. Default: the system clock; tests pass a `VirtualClock`. */
  clock?: Clock;
  /**
   * A scheduled or queued callback still running after this long (real time) is reported as hung.
   * Default 15 min; any length: past Node's longest timeout (24.8 days) it is waited in steps.
   */
  hungTaskAfterMs?: number;
  /** Runs of one task in a row that never finished before the crash-loop breaker stops it. Default 5. */
  crashLoopLimit?: number;
  /**
   * Which agents this host runs, when agents are spread over several hosts (see `hearth start
   * --threads`): events for the others go to the placement's remote side. Default: all of them.
   */
  placement?: HostPlacement;
  /**
   * Where each agent database's commits go before their output leaves (a cluster's log), by the
   * database's identity (`counter/a`, a sub-agent's path below it). Default: nowhere (one node).
   */
  replication?: (identity: string) => DatabaseReplication | undefined;
  /** With `replication`: how facet trees deleted or cloned on disk reach the replica (a cluster's log). */
  facetTrees?: FacetTreeReplication;
  /**
   * Where the host keeps its own files (the schedule index, the catalog, timed work's files); default
   * `dataDir`. Hosts sharing one data directory each need their own.
   */
  stateDir?: string;
  /** Called with problems of scheduled work the agent's own onError cannot see: hung runs, unreachable agents. */
  onTaskError?: (report: TaskErrorReport) => void;
}

/** A problem with an agent's scheduled work, reported by the host. */
export interface TaskErrorReport {
  className: string;
  name: string;
  error: Error;
}

/** Logs a problem of scheduled work and hands it to the host's `onTaskError` (whose own failure is logged, not thrown). */
export function reportTaskError(onTaskError: ((report: TaskErrorReport) => void) | undefined, report: TaskErrorReport): void {
  console.error(`[hearth] ${report.className}/${report.name}: ${report.error.message}`);
  try {
    onTaskError?.(report);
  } catch (hookError) {
    console.error("[hearth] onTaskError failed:", hookError);
  }
}

/**
 * Keeps a replica in step with facet files changed beside their databases: a deleted facet tree, a
 * cloned one. Each returns a promise the parent's output waits for (as for a commit of its own).
 */
export interface FacetTreeReplication {
  /** The facet with this place identity and every facet below it were deleted. */
  removed(identity: string): Promise<void>;
  /** The tree at `replaced` was replaced by copied files: `copied` (parents first) have files now. */
  copied(replaced: string, copied: ReadonlyArray<{ identity: string; file: string }>): Promise<void>;
}
