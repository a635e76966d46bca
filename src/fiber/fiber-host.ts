import type { AgentDatabase } from "../storage/database.ts";
import type { Clock } from "../time/clock.ts";
import type { FiberRecoveryContext, FiberRecoveryResult } from "./types.ts";

/** What an agent's fibers need from the runtime that hosts the agent. */
export interface FiberHost {
  readonly className: string;
  readonly name: string;
  readonly db: AgentDatabase;
  readonly clock: Clock;
  /** Holds the agent in memory until the returned function is called. */
  keepAlive(): () => void;
  /** The host must wake the agent by `at`, even after a crash (the host's due index). */
  tasksChanged(at: number): void;
  /** Runs `fn` as an event no other event interleaves with: a recovery pass of the live agent. */
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>;
}

/** What the fibers need from the agent. */
export interface FiberAgent {
  /** Calls the agent's onFiberRecovered (overridable, so through the agent, in its scope). */
  recovered(ctx: FiberRecoveryContext): Promise<void | FiberRecoveryResult> | void | FiberRecoveryResult;
  /** Reports to the agent's onError. */
  report(error: unknown): void;
  /** The agent itself: its `agents:fiber` events carry its class and name. */
  readonly agent?: object;
}

/** The class's fiber options, resolved from `static options`. */
export interface FiberOptions {
  readonly keepAliveIntervalMs: number;
  readonly fiberRecoveryMaxAgeMs: number;
  readonly fiberRecoveryScanDeadlineMs: number;
}
