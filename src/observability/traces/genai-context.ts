import { createContextKey, type Context } from "@opentelemetry/api";

/** Who is calling the model: the agent (class and instance) and its conversation. */
export interface GenAiCaller {
  readonly className: string;
  readonly name: string;
  readonly conversationId?: string;
}

/** Set in the context by an `invoke_agent` span: the AI SDK integration nests under it and reads who called. */
export const GEN_AI_CALLER = createContextKey("hearth.gen_ai.caller");

export function callerIn(ctx: Context): GenAiCaller | undefined {
  return ctx.getValue(GEN_AI_CALLER) as GenAiCaller | undefined;
}
