/**
 * Puts observability's wrappers around the core's HTTP requests and actor events (the core's
 * named interface for them is agent/instrumentation.ts). Installed once, when the platform loads:
 * each wrapper checks for itself whether tracing is on or a logger reads request ids, and otherwise
 * only calls its function.
 */
import { setInstrumentation } from "../agent/instrumentation.ts";
import { currentLogContext, logContextRead } from "../observability/logs/context.ts";
import { traceAgentEvent, traceHttpRequest } from "../observability/traces/hooks.ts";

setInstrumentation({
  httpRequest: traceHttpRequest,
  actorEvent: traceAgentEvent,
  // Only once something reads log context: reading it here would turn request ids on for every request.
  requestId: () => (logContextRead() ? currentLogContext()?.requestId : undefined),
});
