/**
 * The contract between a Sandbox and the JavaScript engine under it. An engine gives one isolated
 * JavaScript context with a memory cap, evaluates scripts and ES modules, calls a global function and
 * drives its promise to completion within a CPU and wall-clock budget, and exposes two bridge
 * functions to the code inside (`__hearth_sync`, `__hearth_async`) that reach the host with strings.
 * Everything web-shaped (console, fetch, Request/Response, URL, env) is built on top of those two
 * bridges in the in-sandbox prelude, so a V8-isolate engine only has to implement this file's
 * interfaces. See docs/decisions (sandbox engine).
 */

/** Which limit stopped a call; `stack` is a native stack overflow inside the engine. */
export type LimitName = "cpuMs" | "memoryBytes" | "wallMs" | "maxOutputBytes" | "maxHostCallBytes" | "maxPendingHostCalls";

/** The host side of the two bridge functions the sandboxed code can call. */
export interface EngineHost {
  /** `__hearth_sync(op, payload)`: answered at once (console, URL parsing). Returns a string or undefined. */
  syncCall(op: string, payload: string): string | undefined;
  /** `__hearth_async(op, payload)`: returns a promise inside the sandbox (capabilities, fetch). */
  asyncCall(op: string, payload: string): Promise<string>;
  /**
   * Sync operations whose effects must stay in the host's current turn of the event loop until the
   * sandbox's synchronous run ends (storage writes inside the host's implicit transaction, which
   * commits at the end of a turn: a run that fails later must still be able to undo them). An engine
   * on another thread keeps the host's turn open from such an operation until the sandbox's code
   * yields (awaits the host, or the call ends). Omitted: none.
   */
  holdsTurn?(op: string): boolean;
  /**
   * Answers of sync operations that never change for this context (its configuration): an engine
   * on another thread may answer them there, without a round trip. Omitted: none.
   */
  readonly constants?: Readonly<Record<string, string>>;
}

export interface EngineContextOptions {
  memoryBytes: number;
  host: EngineHost;
  /**
   * Told each time the engine starts running the context's code, and given back what to call when
   * it stops (entries may nest). For a watchdog on another thread: code inside one native builtin
   * never reaches the engine's own limit checks, so only a look from outside can see it stuck.
   * Omitted: none.
   */
  onRun?: () => () => void;
}

/** Per-call budget: CPU time inside the engine and an absolute wall-clock deadline (performance.now()). */
export interface Budget {
  cpuMs: number;
  deadline: number;
  /** The wall-clock limit as configured, for the error that names it (the deadline was set a moment before the call starts). */
  wallMs: number;
}

/** A failure of the engine or a limit, as opposed to an exception thrown by the sandboxed code. */
export class EngineError extends Error {
  /** The limit that was exceeded, if any. */
  readonly limit: LimitName | undefined;
  /** The context can no longer be used (it was stopped mid-flight). */
  readonly fatal: boolean;

  constructor(message: string, limit: LimitName | undefined, fatal: boolean) {
    super(message);
    this.limit = limit;
    this.fatal = fatal;
    this.name = limit ? "SandboxLimitError" : "SandboxError";
  }
}

export interface EngineContext {
  /** Runs a global script (not a module). Throws EngineError, or the script's error as `Error`. */
  evalScript(source: string, filename: string, budget: Budget): Promise<void>;
  /**
   * Evaluates a module and waits for its top-level await. It may import `modules` (by name; relative
   * specifiers resolve against the importing module's name) and nothing else.
   */
  evalModule(source: string, filename: string, modules: Record<string, string>, budget: Budget): Promise<void>;
  /** Calls global function `name` with string arguments, awaits the returned promise and returns its string. */
  invoke(name: string, args: string[], budget: Budget): Promise<string>;
  /**
   * Calls global function `name` synchronously from inside a host sync call (`__hearth_sync`) while
   * the sandbox's code waits for that call's answer: the host wraps a step of the sandbox's code in
   * something of its own (a storage transaction around a callback). The function must return a
   * string. Its time counts against the running call's budget; outside a running call it throws.
   */
  callNested(name: string, args: string[]): string;
  /** Bytes in use by the context's heap. */
  readonly memoryUsage: number;
  readonly alive: boolean;
  dispose(): void;
}

export interface SandboxEngine {
  readonly name: string;
  createContext(options: EngineContextOptions): Promise<EngineContext>;
}

/** The error of a call stopped at its CPU budget or wall clock, whoever stopped it (the engine, or a watchdog). */
export function timeLimitError(limit: "cpuMs" | "wallMs", budget: Pick<Budget, "cpuMs" | "wallMs">): EngineError {
  const message = limit === "cpuMs" ? `CPU budget of ${budget.cpuMs} ms exceeded (cpuMs)` : `wall-clock timeout of ${budget.wallMs} ms (wallMs)`;
  return new EngineError(message, limit, true);
}

