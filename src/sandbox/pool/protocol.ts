/**
 * The messages between the host thread and a sandbox worker thread. Everything is plain data
 * (strings, numbers): the engine contract (engine.ts) was drawn so that only strings cross.
 *
 * Two channels per worker:
 * - the worker's own port (`parentPort` / `worker.postMessage`): calls into sandboxes, their
 *   answers, async host calls (capabilities, fetch) and a sync host call made while the host thread
 *   is free; handled on the host's event loop, never waited on;
 * - the sync channel (a MessageChannel read with `receiveMessageOnPort` + a SharedArrayBuffer to
 *   sleep on with `Atomics.wait`): the answer to a sync host call, the nested calls the host makes
 *   while answering it, and the sync calls those nested calls make in turn (sync-channel.ts).
 */
import type { MessagePort } from "node:worker_threads";
import { EngineError, type LimitName } from "../engine.ts";

/**
 * A call's budget as it crosses: the wall-clock time left rather than a deadline, because each
 * thread has its own performance.now() origin (and a test's fake timers may replace the host's).
 */
export interface WireBudget {
  cpuMs: number;
  wallMsLeft: number;
  /** The wall-clock limit as configured (Budget.wallMs). */
  wallMs: number;
}

/** An error as it crosses: an engine failure carries its limit and whether the context is dead. */
export interface WireError {
  name: string;
  message: string;
  engine?: { limit: LimitName | undefined; fatal: boolean };
}

/** Host thread → worker, on the worker's port. */
export type ToWorker =
  | { t: "create"; ctx: number; memoryBytes: number; constants: Record<string, string> }
  | { t: "evalScript"; call: number; ctx: number; source: string; filename: string; budget: WireBudget }
  | { t: "evalModule"; call: number; ctx: number; source: string; filename: string; modules: Record<string, string>; budget: WireBudget }
  | { t: "invoke"; call: number; ctx: number; name: string; args: string[]; budget: WireBudget }
  | { t: "settle"; ctx: number; id: number; ok: boolean; value?: string; error?: WireError }
  | { t: "dispose"; ctx: number }
  /** Start the engine now (WebAssembly instance, warm-up) and answer `warm`. */
  | { t: "warm" };

/** A call into a sandbox (answered by a `done` message with the same `call` number). */
export type CallMessage = Extract<ToWorker, { call: number }>;
type WithoutCall<M> = M extends unknown ? Omit<M, "call"> : never;
/** A call before it is numbered. */
export type CallRequest = WithoutCall<CallMessage>;

/** Worker → host thread, on the worker's port. */
export type FromWorker =
  | { t: "done"; call: number; ctx: number; ok: boolean; value?: string; error?: WireError; alive: boolean }
  /** The engine is started (answer to `warm`). */
  | { t: "warm" }
  /** The context's heap, measured shortly after its last call (off the call's path: a heap walk costs ~0.1 ms). */
  | { t: "memory"; ctx: number; bytes: number }
  | { t: "async"; ctx: number; id: number; op: string; payload: string }
  | SyncRequest;

/** Worker → host thread: `__hearth_sync(op, payload)` of context `ctx`; the worker sleeps until the answer with this `seq`. */
export interface SyncRequest {
  t: "sync";
  ctx: number;
  seq: number;
  op: string;
  payload: string;
}

/**
 * On the sync channel, host thread → worker. `hold`: the host thread keeps its turn open from this
 * answer on (EngineHost.holdsTurn) and reads only the sync channel until the worker sends `release`.
 */
export type SyncToWorker =
  | { t: "answer"; seq: number; ok: boolean; value?: string; error?: WireError; hold?: boolean }
  | { t: "nested"; seq: number; ctx: number; name: string; args: string[] };

/**
 * On the sync channel, worker → host thread: a nested call's result; `release` (the sandbox's
 * synchronous run ended, the host thread may go back to its event loop); and, while the host thread
 * waits on this channel (a nested call, or a held turn), every message that would otherwise go on
 * the worker's port.
 */
export type SyncToHost =
  | { t: "nestedDone"; seq: number; ok: boolean; value?: string; error?: WireError }
  | { t: "release" }
  /** The worker stopped waiting for the answer to sync call `seq` (its call's deadline passed): no turn to hold for it. */
  | { t: "gaveUp"; seq: number }
  | FromWorker;

/** Data sent to a new worker. */
export interface WorkerSetup {
  /** Two Int32 words: [0] counts messages posted to the worker, [1] to the host thread. */
  signal: SharedArrayBuffer;
  /** The worker's end of the sync channel. */
  port: MessagePort;
  /** How long past its call's deadline a sync call waits for the host's answer (WorkerPoolOptions.hostAnswerGraceMs). */
  hostAnswerGraceMs: number;
  /** What the worker is doing, read by the host's watchdog (run-state.ts). */
  runState: SharedArrayBuffer;
}

export const TO_WORKER = 0;
export const TO_HOST = 1;

export function toWireError(error: unknown): WireError {
  const e = error instanceof Error ? error : new Error(String(error));
  const wire: WireError = { name: e.name || "Error", message: e.message };
  if (e instanceof EngineError) wire.engine = { limit: e.limit, fatal: e.fatal };
  return wire;
}

/** The error again on this side: an EngineError when it was one. */
export function fromWireError(wire: WireError): Error {
  if (wire.engine) return new EngineError(wire.message, wire.engine.limit, wire.engine.fatal);
  const error = new Error(wire.message);
  error.name = wire.name;
  return error;
}
