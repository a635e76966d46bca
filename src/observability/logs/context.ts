import { AsyncLocalStorage } from "node:async_hooks";
import { currentScope } from "../../agent/context.ts";

/** The correlation ids of the running request, added to every log line written inside it. */
export interface LogContext {
  /** The request's id (an incoming `x-request-id`, or one the host made up). */
  readonly requestId?: string;
  /** The trace id, lowercase hex (32 digits), written as `trace_id`. */
  readonly traceId?: string;
  /** The current span id, lowercase hex (16 digits), written as `span_id`. */
  readonly spanId?: string;
}

/** The fields a log line gets from where it was written. */
export interface LogContextFields {
  /** The agent's class, when written inside an agent's event. */
  agent?: string;
  /** The agent's instance name. */
  name?: string;
  requestId?: string;
  trace_id?: string;
  span_id?: string;
}

const requests = new AsyncLocalStorage<LogContext>();
/**
 * False until something reads log context (a logger, `currentLogContext`): until then a request
 * costs no id and no context switch (the hot path of a server nobody watches stays free).
 */
let readersExist = false;
/** The ids a trace source gives: the active span's, and the request id when the trace carries it. */
export interface TracedIds {
  readonly traceId: string;
  readonly spanId: string;
  readonly requestId?: string;
}

let traceSource: (() => TracedIds | undefined) | undefined;

/**
 * Runs `fn` with request and trace ids that every log line written inside it (across awaits) carries.
 * Nested calls add to the outer context. Before anything reads log context (no logger made, no
 * `currentLogContext` call yet) it only calls `fn`.
 * @example
 * await runWithLogContext({ requestId: crypto.randomUUID() }, () => handle(request));
 */
export function runWithLogContext<T>(context: LogContext, fn: () => T): T {
  if (!readersExist) return fn();
  const outer = requests.getStore();
  return requests.run(outer ? { ...outer, ...context } : context, fn);
}

/**
 * Where the current trace and span ids (and the request id, when the trace context carries it: the
 * tracer keeps a request's id there instead of a second context) come from when no
 * `runWithLogContext` gave them. Pass `undefined` to remove.
 * @example setTraceIdSource(() => { const s = trace.getActiveSpan()?.spanContext(); return s && { traceId: s.traceId, spanId: s.spanId }; });
 */
export function setTraceIdSource(source: (() => TracedIds | undefined) | undefined): void {
  traceSource = source;
}

/**
 * Whether anything reads log context yet. Callers that make up a context (a request id) check this
 * first; a Hearth logger, `fromPino` and `currentLogContext` turn it on.
 */
export function logContextRead(): boolean {
  return readersExist;
}

/** Marks log context as read from now on (a logger was made). */
export function readLogContext(): void {
  readersExist = true;
}

/** Whether the caller runs inside an agent's event. */
export function insideAgentEvent(): boolean {
  return currentScope() !== undefined;
}

/**
 * The context fields for a line written now: the agent's class and name from the running agent event
 * (the same context `getCurrentAgent()` reads), ids from `runWithLogContext` and the trace source.
 * @example currentLogContext() // { agent: "Counter", name: "alice", requestId: "r-1" }
 */
export function currentLogContext(): LogContextFields | undefined {
  readersExist = true;
  const scope = currentScope();
  const request = requests.getStore();
  let traced = request?.traceId ? undefined : traceSource?.();
  if (traced && !/^[0-9a-f]{32}$/.test(traced.traceId)) traced = undefined;
  if (!scope && !request && !traced) return undefined;
  const fields: LogContextFields = {};
  if (scope) {
    fields.agent = scope.className;
    fields.name = scope.name;
  }
  const requestId = request?.requestId ?? traced?.requestId;
  if (requestId) fields.requestId = requestId;
  const traceId = request?.traceId ?? traced?.traceId;
  const spanId = request?.traceId ? request.spanId : traced?.spanId;
  if (traceId) fields.trace_id = traceId;
  if (spanId) fields.span_id = spanId;
  return fields;
}

/**
 * The prefix a caller's field (or child binding) gets when its name is one the log context sets on
 * that line (`agent`, `name`, `requestId`, `trace_id`, `span_id`): the context wins, so a line written
 * inside an agent is never misattributed, and `log.info({ name: "report.pdf" })` there keeps the value
 * as `field_name`.
 */
export const SHADOWED_FIELD_PREFIX = "field_";

/**
 * Adds the context's fields to `record`, which may hold bindings already: a binding named as one the
 * context sets moves to `field_<name>` first (the context wins).
 */
export function applyContext(record: Record<string, unknown>, context: LogContextFields | undefined): void {
  if (!context) return;
  for (const key of Object.keys(context)) {
    if (!Object.hasOwn(record, key)) continue;
    record[SHADOWED_FIELD_PREFIX + key] = record[key];
    delete record[key];
  }
  Object.assign(record, context);
}

/**
 * Copies a call's `fields` into `record` in order; one named as a field the context set goes to
 * `field_<name>` instead, leaving the context's value.
 * @example
 * const record = { agent: "Inbox", name: "ada" };
 * assignFields(record, { name: "report.pdf", size: 3 }, { agent: "Inbox", name: "ada" });
 * // record: { agent: "Inbox", name: "ada", field_name: "report.pdf", size: 3 }
 */
export function assignFields(record: Record<string, unknown>, fields: Readonly<Record<string, unknown>>, context: LogContextFields | undefined): void {
  for (const key of Object.keys(fields)) {
    const shadowed = context !== undefined && Object.hasOwn(context, key);
    record[shadowed ? SHADOWED_FIELD_PREFIX + key : key] = fields[key];
  }
}
