import { SpanKind, trace, type Attributes, type Context, type Span } from "@opentelemetry/api";
import type { LanguageModelUsage, Telemetry } from "ai";
import { currentScope } from "../../agent/context.ts";
import { activeContext, withContext } from "./context.ts";
import { callerIn, GEN_AI_CALLER, type GenAiCaller } from "./genai-context.ts";
import * as sc from "./semconv.ts";
import { recordError, startSpan, tracingOn } from "./tracer.ts";

/** Prices a model call: USD for the tokens, or undefined when the model has no price. */
export type CostOf = (model: string, inputTokens: number, outputTokens: number) => number | undefined;

interface CallState {
  /** The context the call started in (the agent's invoke_agent span, a tool's span…). */
  readonly parent: Context;
  /** The invoke_agent span this integration opened itself (none when the agent's own span is active). */
  readonly invoke: Span | undefined;
  readonly base: Context;
  readonly caller: GenAiCaller | undefined;
  readonly functionId: string | undefined;
  chat: { span: Span; ctx: Context; model: string } | undefined;
  readonly tools: Map<string, { span: Span; ctx: Context }>;
}

/** Calls whose end never came (a dropped stream) are forgotten past this many. */
const MAX_OPEN_CALLS = 1_000;

/**
 * The AI SDK v7 telemetry integration that turns `generateText` / `streamText` calls into
 * `chat {model}` and `execute_tool {tool}` spans under the running agent's `invoke_agent` span, with
 * token usage and cost. Registered globally while tracing is on (the SDK's `registerTelemetry`
 * registry); a call opts out with `telemetry: { isEnabled: false }`.
 */
export class HearthAiTelemetry implements Telemetry {
  readonly #calls = new Map<string, CallState>();
  readonly #costOf: CostOf | undefined;

  constructor(costOf?: CostOf) {
    this.#costOf = costOf;
  }

  onStart(event: { callId: string; operationId?: string; functionId?: string }): void {
    if (!tracingOn()) return;
    this.#open(event.callId, event.functionId);
  }

  onLanguageModelCallStart(event: { callId: string; provider: string; modelId: string; maxOutputTokens?: number; temperature?: number }): void {
    if (!tracingOn()) return;
    const call = this.#calls.get(event.callId) ?? this.#open(event.callId, undefined);
    this.#endChat(call);
    const attributes: Attributes = {
      [sc.GEN_AI_OPERATION_NAME]: sc.GEN_AI_OPERATION_CHAT,
      [sc.GEN_AI_PROVIDER_NAME]: providerName(event.provider),
      [sc.GEN_AI_REQUEST_MODEL]: event.modelId,
    };
    if (call.caller) {
      attributes[sc.GEN_AI_AGENT_NAME] = call.functionId ?? call.caller.className;
      attributes[sc.GEN_AI_AGENT_ID] = call.caller.name;
      if (call.caller.conversationId) attributes[sc.GEN_AI_CONVERSATION_ID] = call.caller.conversationId;
    }
    if (typeof event.maxOutputTokens === "number") attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] = event.maxOutputTokens;
    if (typeof event.temperature === "number") attributes[sc.GEN_AI_REQUEST_TEMPERATURE] = event.temperature;
    const span = startSpan(`chat ${event.modelId}`, { kind: SpanKind.CLIENT, attributes }, call.base);
    call.chat = { span, ctx: trace.setSpan(call.base, span), model: event.modelId };
  }

  executeLanguageModelCall<T>(options: { callId: string; execute: () => PromiseLike<T> }): PromiseLike<T> {
    const chat = this.#calls.get(options.callId)?.chat;
    return chat ? withContext(chat.ctx, options.execute) : options.execute();
  }

  onLanguageModelCallEnd(event: {
    callId: string;
    modelId: string;
    finishReason: string;
    usage: LanguageModelUsage;
    responseId?: string;
    performance?: { timeToFirstOutputMs?: number };
  }): void {
    const chat = this.#calls.get(event.callId)?.chat;
    if (!chat) return;
    const { span } = chat;
    span.setAttribute(sc.GEN_AI_RESPONSE_MODEL, event.modelId);
    span.setAttribute(sc.GEN_AI_RESPONSE_FINISH_REASONS, [event.finishReason]);
    if (event.responseId) span.setAttribute(sc.GEN_AI_RESPONSE_ID, event.responseId);
    const first = event.performance?.timeToFirstOutputMs;
    if (typeof first === "number") span.setAttribute(sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, first / 1000);
    this.#usage(span, chat.model, event.usage);
  }

  onToolExecutionStart(event: { callId: string; toolCall: { toolCallId: string; toolName: string } }): void {
    if (!tracingOn()) return;
    const call = this.#calls.get(event.callId) ?? this.#open(event.callId, undefined);
    const parent = call.chat?.ctx ?? call.base;
    const { toolCallId, toolName } = event.toolCall;
    const attributes: Attributes = {
      [sc.GEN_AI_OPERATION_NAME]: sc.GEN_AI_OPERATION_EXECUTE_TOOL,
      [sc.GEN_AI_TOOL_NAME]: toolName,
      [sc.GEN_AI_TOOL_CALL_ID]: toolCallId,
      [sc.GEN_AI_TOOL_TYPE]: "function",
    };
    if (call.caller) attributes[sc.GEN_AI_AGENT_NAME] = call.functionId ?? call.caller.className;
    const span = startSpan(`execute_tool ${toolName}`, { kind: SpanKind.INTERNAL, attributes }, parent);
    call.tools.set(toolCallId, { span, ctx: trace.setSpan(parent, span) });
  }

  executeTool<T>(options: { callId: string; toolCallId: string; execute: () => PromiseLike<T> }): PromiseLike<T> {
    const tool = this.#calls.get(options.callId)?.tools.get(options.toolCallId);
    return tool ? withContext(tool.ctx, options.execute) : options.execute();
  }

  onToolExecutionEnd(event: { callId: string; toolCall: { toolCallId: string }; toolOutput: { type: string; error?: unknown } }): void {
    const call = this.#calls.get(event.callId);
    const tool = call?.tools.get(event.toolCall.toolCallId);
    if (!call || !tool) return;
    call.tools.delete(event.toolCall.toolCallId);
    if (event.toolOutput.type === "tool-error") recordError(tool.span, event.toolOutput.error);
    tool.span.end();
  }

  onStepEnd(event: { callId: string; usage?: LanguageModelUsage }): void {
    const call = this.#calls.get(event.callId);
    if (call) this.#endChat(call);
  }

  onStepError(event: { callId: string; error?: unknown }): void {
    const call = this.#calls.get(event.callId);
    if (!call?.chat) return;
    recordError(call.chat.span, event.error);
    this.#endChat(call);
  }

  onEnd(event: { callId: string; totalUsage?: unknown; usage?: unknown }): void {
    const call = this.#take(event.callId);
    if (!call) return;
    this.#endChat(call);
    if (call.invoke) {
      const usage = event.totalUsage ?? event.usage;
      if (isLanguageUsage(usage)) setTokens(call.invoke, usage);
      call.invoke.end();
    }
  }

  onAbort(event: { callId: string }): void {
    const call = this.#take(event.callId);
    if (!call) return;
    for (const span of [call.chat?.span, ...[...call.tools.values()].map((t) => t.span), call.invoke]) {
      span?.setAttribute("hearth.canceled", true);
      span?.end();
    }
  }

  onError(error: unknown): void {
    // The SDK passes the error alone: fail the calls whose spans are open in this async context.
    const active = trace.getSpan(activeContext())?.spanContext().spanId;
    for (const [callId, call] of this.#calls) {
      const ours = call.chat?.span.spanContext().spanId === active || call.invoke?.spanContext().spanId === active || trace.getSpan(call.parent)?.spanContext().spanId === active;
      if (!ours && this.#calls.size > 1) continue;
      this.#calls.delete(callId);
      for (const span of [call.chat?.span, ...[...call.tools.values()].map((t) => t.span), call.invoke]) {
        if (!span) continue;
        recordError(span, error);
        span.end();
      }
    }
  }

  #open(callId: string, functionId: string | undefined): CallState {
    const parent = activeContext();
    let caller = callerIn(parent);
    let invoke: Span | undefined;
    let base = parent;
    if (!caller) {
      const scope = currentScope();
      if (scope) caller = { className: scope.className, name: scope.name };
      const agentName = functionId ?? caller?.className;
      invoke = startSpan(agentName ? `invoke_agent ${agentName}` : "invoke_agent", {
        kind: SpanKind.INTERNAL,
        attributes: {
          [sc.GEN_AI_OPERATION_NAME]: sc.GEN_AI_OPERATION_INVOKE_AGENT,
          ...(agentName ? { [sc.GEN_AI_AGENT_NAME]: agentName } : {}),
          ...(caller ? { [sc.GEN_AI_AGENT_ID]: caller.name, [sc.HEARTH_AGENT_CLASS]: caller.className, [sc.HEARTH_AGENT_NAME]: caller.name } : {}),
        },
      }, parent);
      base = trace.setSpan(parent, invoke);
      if (caller) base = base.setValue(GEN_AI_CALLER, caller);
    }
    const call: CallState = { parent, invoke, base, caller, functionId, chat: undefined, tools: new Map() };
    this.#calls.set(callId, call);
    if (this.#calls.size > MAX_OPEN_CALLS) {
      const [oldest] = this.#calls.keys();
      this.#calls.delete(oldest!);
    }
    return call;
  }

  #take(callId: string): CallState | undefined {
    const call = this.#calls.get(callId);
    this.#calls.delete(callId);
    return call;
  }

  #endChat(call: CallState): void {
    if (!call.chat) return;
    call.chat.span.end();
    call.chat = undefined;
  }

  #usage(span: Span, model: string, usage: LanguageModelUsage): void {
    setTokens(span, usage);
    const cost = this.#costOf?.(model, usage.inputTokens ?? 0, usage.outputTokens ?? 0);
    if (cost !== undefined) span.setAttribute(sc.HEARTH_COST_USD, cost);
  }
}

function setTokens(span: Span, usage: LanguageModelUsage): void {
  if (typeof usage.inputTokens === "number") span.setAttribute(sc.GEN_AI_USAGE_INPUT_TOKENS, usage.inputTokens);
  if (typeof usage.outputTokens === "number") span.setAttribute(sc.GEN_AI_USAGE_OUTPUT_TOKENS, usage.outputTokens);
  const cached = usage.inputTokenDetails?.cacheReadTokens;
  if (typeof cached === "number") span.setAttribute(sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, cached);
  const reasoning = usage.outputTokenDetails?.reasoningTokens;
  if (typeof reasoning === "number") span.setAttribute(sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, reasoning);
}

function isLanguageUsage(usage: unknown): usage is LanguageModelUsage {
  return typeof usage === "object" && usage !== null && "outputTokens" in usage;
}

/** "openai.chat" → "openai": the provider part of the AI SDK's provider id. */
function providerName(provider: string): string {
  const dot = provider.indexOf(".");
  return dot > 0 ? provider.slice(0, dot) : provider;
}

