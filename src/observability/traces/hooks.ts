/**
 * The small calls the core makes to put spans in place. Each one checks whether tracing is on first
 * and, when it is off, only calls the function it was given.
 */
import { randomUUID } from "node:crypto";
import { SpanKind, trace, type Attributes, type Context, type Span } from "@opentelemetry/api";
import { logContextRead, runWithLogContext } from "../logs/context.ts";
import { pathnameOf } from "../../web/url-path.ts";
import { activeContext, requestContext, rootContext, withContext } from "./context.ts";
import { HttpSpan, markServerError } from "./fixed-span.ts";
import { GEN_AI_CALLER } from "./genai-context.ts";
import { formatTraceparent, parseTraceparent } from "./ids.ts";
import * as sc from "./semconv.ts";
import {
  fixedSpansOn,
  NOT_RECORDING,
  recordError,
  runEventSpan,
  startEventSpan,
  startHttpSpan,
  startSpan,
  tracingOn,
  withEventSpan,
  withSpan,
} from "./tracer.ts";

const SANE_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/**
 * Runs one HTTP request: a request id (the incoming `x-request-id` when it is 1–128 safe characters,
 * else the server span's id, or a new UUID while only logs read it) every log line inside carries,
 * and — tracing on — a SERVER span continuing the caller's `traceparent`, ended when the response is
 * ready. With tracing off and no logger made yet, only calls `fn`.
 * @example const response = await traceHttpRequest(request, () => fetch(request, env, ctx));
 */
export function traceHttpRequest(request: Request, fn: () => Promise<Response>): Promise<Response> {
  if (!tracingOn() && !logContextRead()) return fn();
  const headers = request.headers;
  const incoming = headers.get("x-request-id");
  const given = incoming !== null && SANE_REQUEST_ID.test(incoming) ? incoming : undefined;
  if (!tracingOn()) return runWithLogContext({ requestId: given ?? randomUUID() }, fn);
  const remote = parseTraceparent(headers.get("traceparent"));
  const parent = remote ? trace.setSpanContext(rootContext(), remote) : activeContext();
  if (fixedSpansOn()) {
    const span = startHttpSpan(parent, request.method, request.url, headers.get("user-agent"), given);
    return runRequestSpan(span, span instanceof HttpSpan ? span.requestId : requestIdOf(span, given), parent, fn);
  }
  const url = request.url;
  const attributes: Attributes = {
    [sc.HTTP_REQUEST_METHOD]: request.method,
    [sc.URL_PATH]: pathnameOf(url),
    [sc.URL_SCHEME]: url.startsWith("https:") ? "https" : "http",
  };
  const agent = headers.get("user-agent");
  if (agent) attributes[sc.USER_AGENT_ORIGINAL] = agent;
  const span = startSpan(request.method, { kind: SpanKind.SERVER, attributes, attributesOwned: true }, parent);
  return runRequestSpan(span, requestIdOf(span, given), parent, fn);
}

/**
 * The request id of a request in `span` (not a fixed span, which holds its own), set on it: the
 * client's, else the span's own id — unique, and one random draw fewer.
 */
function requestIdOf(span: Span, given: string | undefined): string {
  const requestId = given ?? span.spanContext().spanId;
  span.setAttribute(sc.HEARTH_REQUEST_ID, requestId);
  return requestId;
}

/** Runs a request in `span`, ended with the response's status (a fixed span keeps it as a field). */
function runRequestSpan(span: Span, requestId: string, parent: Context, fn: () => Promise<Response>): Promise<Response> {
  // The request id rides in the trace context (log lines read it from there): one context switch, not two.
  return withContext(requestContext(parent, span, requestId), fn).then(
    (response) => {
      if (span instanceof HttpSpan) span.respond(response.status);
      else {
        span.setAttribute(sc.HTTP_RESPONSE_STATUS_CODE, response.status);
        markServerError(span, response.status);
      }
      span.end();
      return response;
    },
    (error: unknown) => {
      recordError(span, error);
      span.end();
      throw error;
    },
  );
}

/**
 * Runs one event of an agent inside a span named after it: `onRequest`, `onMessage`, `rpc {method}`,
 * `schedule {callback}`, `queue {callback}`, `alarm`. `root: true` starts a new trace: for work the
 * host starts from a timer, whose async context is whatever armed the timer last.
 * @example return traceAgentEvent("Counter", "alice", "rpc", method, () => fn.apply(agent, args));
 */
export function traceAgentEvent<T>(className: string, name: string, event: string, detail: string | undefined, fn: () => T, root = false): T {
  if (!tracingOn()) return fn();
  const spanName = detail === undefined ? event : `${event} ${detail}`;
  if (fixedSpansOn()) {
    const base = root ? rootContext() : activeContext();
    return runEventSpan(startEventSpan(base, spanName, className, name, event), base, fn);
  }
  return withEventSpan(
    spanName,
    { kind: SpanKind.INTERNAL, attributes: { [sc.HEARTH_AGENT_CLASS]: className, [sc.HEARTH_AGENT_NAME]: name, [sc.HEARTH_EVENT]: event }, attributesOwned: true },
    fn,
    root ? rootContext() : undefined,
  );
}

/**
 * Runs an agent's model turn inside `invoke_agent {className}`: the AI SDK calls made inside
 * (`streamText`, `generateText`) become its `chat` and `execute_tool` children and carry the agent's
 * identity and conversation.
 * @example return traceInvokeAgent(this.constructor.name, this.name, this.name, () => this.onChatMessage(onFinish, options));
 */
export function traceInvokeAgent<T>(className: string, name: string, conversationId: string | undefined, fn: (span: Span) => T): T {
  if (!tracingOn()) return fn(NOT_RECORDING);
  const parent = activeContext();
  const attributes: Attributes = {
    [sc.GEN_AI_OPERATION_NAME]: sc.GEN_AI_OPERATION_INVOKE_AGENT,
    [sc.GEN_AI_AGENT_NAME]: className,
    [sc.GEN_AI_AGENT_ID]: name,
    [sc.HEARTH_AGENT_CLASS]: className,
    [sc.HEARTH_AGENT_NAME]: name,
  };
  if (conversationId) attributes[sc.GEN_AI_CONVERSATION_ID] = conversationId;
  const caller = conversationId ? { className, name, conversationId } : { className, name };
  return withSpan(`invoke_agent ${className}`, { kind: SpanKind.INTERNAL, attributes, attributesOwned: true }, fn, parent.setValue(GEN_AI_CALLER, caller));
}

/**
 * The caller's trace context, to run a task later inside it (a mailbox delivery, a deferred callback).
 * Undefined while tracing is off.
 */
export function captureTraceContext(): Context | undefined {
  return tracingOn() ? activeContext() : undefined;
}

/** Runs `fn` inside a context from {@link captureTraceContext} (just calls it for undefined, or when that context is active already). */
export function runInTraceContext<T>(ctx: Context | undefined, fn: () => T): T {
  return ctx === undefined || ctx === activeContext() ? fn() : withContext(ctx, fn);
}

/**
 * The active span as a W3C `traceparent`, to store with work that runs later or elsewhere (a queue
 * message, a workflow instance). Undefined while tracing is off or outside any span.
 */
export function currentTraceparent(): string | undefined {
  if (!tracingOn()) return undefined;
  const span = trace.getSpan(activeContext());
  const ctx = span?.spanContext();
  return ctx && trace.isSpanContextValid(ctx) ? formatTraceparent(ctx) : undefined;
}

/**
 * Runs `fn` in a span continuing a stored `traceparent`: as its child (`mode: "child"`, a queue
 * delivery), or in a new trace linked to it (`mode: "link"`, work that outlives its starter by far).
 * Without a usable traceparent the span starts a new trace.
 * @example await traceFromParent(message.traceparent, "queue deliver jobs", { kind: SpanKind.CONSUMER }, () => consume(batch));
 */
export function traceFromParent<T>(
  traceparent: string | undefined,
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes; mode?: "child" | "link" },
  fn: () => T,
): T {
  if (!tracingOn()) return fn();
  const remote = parseTraceparent(traceparent);
  if (!remote) return withSpan(name, options, fn, rootContext()); // run later: not under whatever armed the timer
  if (options.mode === "link") return withSpan(name, { ...options, links: [{ context: remote }] }, fn, rootContext());
  return withSpan(name, options, fn, trace.setSpanContext(rootContext(), { ...remote, isRemote: false }));
}

/**
 * Runs one member call of a team run inside `team step {member}`: the member agent's own spans (its
 * RPC, its model calls) nest under it.
 * @example return traceTeamStep(scope.team, scope.runId, member.name, place.path, () => member.call(input, context));
 */
export function traceTeamStep<T>(team: string, runId: string, member: string, path: string, fn: () => T): T {
  if (!tracingOn()) return fn();
  return withSpan(`team step ${member}`, {
    kind: SpanKind.INTERNAL,
    attributes: { [sc.GEN_AI_WORKFLOW_NAME]: team, [sc.HEARTH_TEAM_RUN]: runId, [sc.HEARTH_EVENT]: "team_step", "hearth.team.member": member, "hearth.team.path": path },
    attributesOwned: true,
  }, fn);
}
