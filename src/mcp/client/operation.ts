/**
 * One bounded exchange with a server: a deadline, cancellation, a way for the transport's error
 * paths to fail it early, and errors rewritten into {@link McpClientError}s that say what happened.
 */
import { McpClientError, clip, messageOf } from "./errors.ts";
import { operationScope, type Operation } from "./fetch-guard.ts";
import type { McpClientLimits } from "./limits.ts";
import { loadedModules } from "./modules.ts";
import type { McpCallOptions } from "./types.ts";

export interface OperationSpec {
  /** What is being done, for messages: `tools/call "search"`, `initialize`, `discovery`. */
  what: string;
  timeoutMs: number;
  /** The limit or option that set `timeoutMs`, named in the timeout message. */
  limitName: string;
  /** Cancels the operation from outside (a caller's AbortSignal). */
  signal?: AbortSignal | undefined;
  /**
   * When the caller's clock started (`Date.now()`): `timeoutMs` counts from here, so the time a call
   * waited for a reconnecting server is taken from its budget. Default: when the operation starts.
   */
  startedAt?: number;
}

/** Who the operation talks to. */
export interface OperationTarget {
  /** `MCP server "docs"`. */
  readonly label: string;
  readonly serverId: string;
  /** Operations in flight, so closing the connection can fail them. */
  readonly operations: Set<Operation>;
  /** Rewrites an error of this target (authorization, lost connection) before the generic rules. */
  explain?(error: unknown, what: string): McpClientError | undefined;
}

/**
 * The spec of one call: the caller's `timeout` (validated) or the server's `callTimeoutMs`.
 * @example
 * callSpec('tools/call "search"', { timeout: 5_000 }, limits); // { what, timeoutMs: 5000, limitName: "the call's timeout option" }
 */
export function callSpec(what: string, options: McpCallOptions, limits: McpClientLimits): OperationSpec {
  const timeout = options.timeout;
  if (timeout !== undefined && (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout <= 0)) {
    throw new RangeError(`timeout must be a positive number of milliseconds, got ${String(timeout)}`);
  }
  return {
    what,
    timeoutMs: timeout ?? limits.callTimeoutMs,
    limitName: timeout === undefined ? "callTimeoutMs" : "the call's timeout option",
    signal: options.signal,
    startedAt: Date.now(),
  };
}

/**
 * Waits for `pending` (a connection attempt a call depends on) within the call's deadline and
 * signal: the call fails with code `timeout` when its time runs out first, or with the signal's
 * reason when it is aborted; `pending` itself goes on.
 * @example
 * const client = await waitWithin(connection, spec, connection.connect(true), () => connection.state);
 */
export async function waitWithin<T>(target: OperationTarget, spec: OperationSpec, pending: Promise<T>, stateNow: () => string): Promise<T> {
  if (spec.signal?.aborted) throw abortError(spec);
  let unwatch = (): void => {};
  const stop = new Promise<never>((_, reject) => {
    unwatch = watchDeadline(
      spec,
      () => reject(timeoutError(target, spec, `: it was still ${stateNow()}`)),
      () => reject(abortError(spec)),
    );
  });
  stop.catch(() => {});
  try {
    return await Promise.race([pending, stop]);
  } finally {
    unwatch();
  }
}

/** Calls `onTimeout` when the spec's time runs out, `onAbort` when its signal aborts; returns what stops watching. */
function watchDeadline(spec: OperationSpec, onTimeout: () => void, onAbort: () => void): () => void {
  const timer = setTimeout(onTimeout, remainingMs(spec));
  timer.unref();
  spec.signal?.addEventListener("abort", onAbort, { once: true });
  return () => {
    clearTimeout(timer);
    spec.signal?.removeEventListener("abort", onAbort);
  };
}

/** The error of an operation whose time ran out, naming its limit. */
function timeoutError(target: OperationTarget, spec: OperationSpec, detail = ""): McpClientError {
  return new McpClientError("timeout", `${target.label} did not finish ${spec.what} within ${spec.timeoutMs} ms (${spec.limitName})${detail}`, { serverId: target.serverId });
}

/** What is left of the spec's time, counted from its `startedAt`. */
function remainingMs(spec: OperationSpec): number {
  return spec.startedAt === undefined ? spec.timeoutMs : Math.max(0, spec.timeoutMs - (Date.now() - spec.startedAt));
}

/** The error of an aborted operation: the signal's reason when it is an Error. */
function abortError(spec: OperationSpec): Error {
  const reason: unknown = spec.signal?.reason;
  return reason instanceof Error ? reason : new Error(`${spec.what} was aborted`);
}

/**
 * Runs `fn` as an operation of `target`: `fn` receives the signal and SDK timeout to pass on.
 * @example
 * await runOperation(connection, { what: "initialize", timeoutMs: 15_000, limitName: "connectTimeoutMs" },
 *   (request) => client.connect(transport, request));
 */
export async function runOperation<T>(
  target: OperationTarget,
  spec: OperationSpec,
  fn: (request: { signal: AbortSignal; timeout: number }) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let reject!: (error: Error) => void;
  const failed = new Promise<never>((_, rej) => (reject = rej));
  failed.catch(() => {});
  const operation = {
    done: false,
    fail(error: Error) {
      if (operation.done) return;
      operation.done = true;
      reject(error);
      controller.abort(error);
    },
  };
  const remaining = remainingMs(spec);
  const unwatch = watchDeadline(
    spec,
    () => operation.fail(timeoutError(target, spec)),
    () => operation.fail(abortError(spec)),
  );
  if (spec.signal?.aborted) operation.fail(abortError(spec));
  target.operations.add(operation);
  try {
    // The SDK's own timeout is a backstop; ours fires first and names the limit.
    const work = operationScope.run(operation, () => fn({ signal: controller.signal, timeout: remaining + 1_000 }));
    work.catch(() => {});
    return await Promise.race([work, failed]);
  } catch (error) {
    throw explain(target, error, spec.what);
  } finally {
    operation.done = true;
    unwatch();
    target.operations.delete(operation);
  }
}

/** Any error of an operation as an {@link McpClientError}. */
export function explain(target: OperationTarget, error: unknown, what: string): McpClientError {
  if (error instanceof McpClientError) return error;
  const own = target.explain?.(error, what);
  if (own) return own;
  const serverId = target.serverId;
  const sdk = loadedModules()?.sdk;
  const text = clip(messageOf(error));
  if (isProtocolViolation(error)) {
    return new McpClientError("protocol", `${target.label} sent an invalid JSON-RPC message during ${what}: ${violationText(error)}`, {
      serverId,
      cause: violationCause(error),
    });
  }
  if (sdk && error instanceof sdk.ProtocolError) {
    return new McpClientError("server", `${target.label} answered ${what} with an error: ${text}`, { serverId, cause: error });
  }
  if (sdk && error instanceof sdk.SdkError && error.code === sdk.SdkErrorCode.RequestTimeout) {
    return new McpClientError("timeout", `${target.label} did not finish ${what} in time: ${text}`, { serverId, cause: error });
  }
  if (sdk && error instanceof sdk.SdkError && error.code === sdk.SdkErrorCode.ClientHttpUnexpectedContent) {
    return new McpClientError("protocol", `${target.label} answered ${what} with unexpected content: ${text}`, { serverId, cause: error });
  }
  return new McpClientError("connection", `${target.label} failed during ${what}: ${text}`, { serverId, cause: error });
}

/** A message that is not JSON, or JSON that is not JSON-RPC. */
export function isProtocolViolation(error: unknown): boolean {
  if (error instanceof SyntaxError) return true;
  const name = (error as { name?: unknown } | null)?.name;
  return name === "ZodError" || name === "$ZodError";
}

/**
 * What a protocol violation says. A JSON syntax error quotes the text it failed on (which may be
 * anything the URL serves), so only its kind is kept.
 */
export function violationText(error: unknown): string {
  return error instanceof SyntaxError ? "not valid JSON" : clip(messageOf(error));
}

/** The cause to keep with a protocol violation: not a syntax error, which quotes the text. */
export function violationCause(error: unknown): unknown {
  return error instanceof SyntaxError ? undefined : error;
}

/** The HTTP status an SDK transport error carries, if any. */
export function httpStatusOf(error: unknown): number | undefined {
  const sdk = loadedModules()?.sdk;
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (sdk && e instanceof sdk.SdkHttpError) return e.status;
    if (sdk && e instanceof sdk.SseError && typeof e.code === "number") return e.code;
  }
  return undefined;
}
