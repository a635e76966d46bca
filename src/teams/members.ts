/**
 * The members a team is made of: a code function, a model, or a sub-agent's method. A sub-agent
 * member runs once per idempotency key: the child records the key with the method's writes, in the
 * same transaction, so a call repeated after a crash returns the first call's result.
 */
import { generateText, type LanguageModel } from "ai";
import { AGENT_RUNTIME, HANDLE } from "../agent/agent-base.ts";
import { callerOfCurrentScope } from "../agent/context.ts";
import type { AgentRuntime } from "../agent/runtime.ts";
import { IN_SUB_AGENT, type SubAgentClass } from "../sub-agents/sub-agent-agent.ts";
import type { MemberCallContext, MemberResult, MemberUsage, TeamMember } from "./member.ts";
import { addUsage, modelIdOf, modelUsage } from "./usage.ts";

/** Options every member helper takes. */
export interface MemberOptions {
  /** What one call may spend, reserved before it runs (see {@link TeamMember.estimate}). */
  estimate?: { tokens?: number; toolCalls?: number; model?: string };
  /** What the member is good at (shown to routers and supervisors). */
  description?: string;
  /** JSON Schema of its input, for supervisors' tool definitions. */
  inputSchema?: Record<string, unknown>;
}

/** What a code member's function gets: the call's context, plus `usage` to report what it spent. */
export interface FnMemberContext extends MemberCallContext {
  /**
   * Reports usage the code spent (e.g. a model it called itself): each report adds to the call's, which
   * the run's budget and usage totals count once the call returns, as a model member's — or fails: what
   * was reported before the code threw counts too. The call is priced with the first model reported
   * unless the reports give `costUsd` (give it when it used several).
   */
  usage(usage: MemberUsage): void;
}

/**
 * A member that runs code. Return the output; report what it spent with `ctx.usage(...)`.
 * @example
 * const normalise = fnMember("normalise", (text: string) => text.trim().toLowerCase());
 * const summarise = fnMember("summarise", async (text: string, ctx) => {
 *   const { text: summary, usage } = await generateText({ model, prompt: text, abortSignal: ctx.signal });
 *   ctx.usage({ model: "gpt-5-mini", inputTokens: usage.inputTokens, outputTokens: usage.outputTokens });
 *   return summary;
 * });
 */
export function fnMember<I, O>(name: string, fn: (input: I, context: FnMemberContext) => O | Promise<O>, options: MemberOptions = {}): TeamMember<I, O> {
  checkName(name);
  return {
    kind: "member",
    name,
    estimate: { tokens: 0 },
    ...options,
    async call(input, context) {
      let spent: MemberUsage | undefined;
      const report = (usage: MemberUsage) => {
        spent = addUsage(spent, usage);
        context.usage?.(usage); // counted even if the code throws after it spent
      };
      const output = await fn(input, { ...context, usage: report });
      return { output, ...(spent ? { usage: spent } : {}) };
    },
  };
}

/** Options of {@link modelMember}. */
export interface ModelMemberOptions extends MemberOptions {
  model: LanguageModel;
  /** The system prompt. */
  system?: string;
  /** Caps the answer's length. */
  maxOutputTokens?: number;
}

/**
 * A member that is one model call: the input (text, or JSON) is the prompt, the answer's text the output.
 * @example
 * const writer = modelMember("writer", { model, system: "Write a short, friendly reply." });
 */
export function modelMember(name: string, options: ModelMemberOptions): TeamMember<unknown, string> {
  checkName(name);
  const { model, system, maxOutputTokens, estimate, ...rest } = options;
  return {
    kind: "member",
    name,
    // Priced by its model: a call reserves the cost of its tokens (the run's reserveTokens unless the
    // estimate says), so parallel calls cannot together cost more than the limit.
    estimate: { model: modelIdOf(model), ...estimate },
    ...rest,
    async call(input, context): Promise<MemberResult<string>> {
      const result = await generateText({
        model,
        ...(system !== undefined ? { system } : {}),
        ...(maxOutputTokens !== undefined ? { maxOutputTokens } : {}),
        prompt: typeof input === "string" ? input : JSON.stringify(input),
        abortSignal: context.signal,
      });
      return { output: result.text, usage: modelUsage(model, result.usage) };
    },
  };
}

/** Options of {@link subAgentMember}. */
export interface SubAgentMemberOptions<I> extends MemberOptions {
  /** The child's method to call with the input. */
  method: string;
  /** The member's name in the team (default the class name). */
  name?: string;
  /** Which child instance serves the input (default one instance named after the member). */
  instance?: (input: I) => string;
  /** Reads usage from the method's result (e.g. `(r) => r.usage`); its output is the whole result otherwise. */
  usage?: (result: unknown) => MemberUsage | undefined;
}

/**
 * What a sub-agent member's method gets after its input: the member call's signal (aborted when the
 * run is cancelled or paused, or the step times out: stop the work then) and its idempotency key.
 * @example
 * class Researcher extends Agent {
 *   async research(topic: string, call?: SubAgentMemberCall) {
 *     return searchEverything(topic, { signal: call?.signal });
 *   }
 * }
 */
export interface SubAgentMemberCall {
  readonly signal: AbortSignal;
  readonly idempotencyKey: string;
}

const CALLS_TABLE = "_hearth_team_member_calls";

/**
 * A member that is a sub-agent of the run's owner: its own SQLite, URL and stream. The method is
 * called once per idempotency key, with the input and a {@link SubAgentMemberCall} (its signal).
 * @example
 * const support = subAgentMember(SupportAgent, { method: "answer", description: "Account and billing questions" });
 */
export function subAgentMember<I = unknown, O = unknown>(cls: SubAgentClass, options: SubAgentMemberOptions<I>): TeamMember<I, O> {
  const name = options.name ?? cls.name;
  checkName(name);
  const { method, instance, usage, ...rest } = options;
  return {
    kind: "member",
    name,
    ...rest,
    async call(input, context): Promise<MemberResult<O>> {
      const owner = context.owner as { [IN_SUB_AGENT]?: (cls: SubAgentClass, name: string, task: (child: object) => Promise<unknown>) => Promise<unknown> };
      if (typeof owner[IN_SUB_AGENT] !== "function") throw new TypeError(`Team member ${name}: the run's owner is not an Agent, so it has no sub-agents`);
      const caller = callerOfCurrentScope();
      const copied = structuredClone(input);
      const result = await owner[IN_SUB_AGENT](cls, instance ? instance(input) : name, (child) => callOnce(child, method, copied, { signal: context.signal, idempotencyKey: context.idempotencyKey }, caller));
      const output = structuredClone(result) as O;
      const spent = usage?.(output);
      return { output, ...(spent ? { usage: spent } : {}) };
    },
  };
}

/** Runs the child's method unless this key ran already; the key's row commits with the method's writes. */
async function callOnce(child: object, method: string, input: unknown, call: SubAgentMemberCall, caller: ReturnType<typeof callerOfCurrentScope>): Promise<unknown> {
  const key = call.idempotencyKey;
  const runtime = (child as { [AGENT_RUNTIME]?: AgentRuntime })[AGENT_RUNTIME];
  const invoke = (child as { [HANDLE.invoke]?: (method: string, args: unknown[], caller?: unknown) => Promise<unknown> })[HANDLE.invoke];
  if (!runtime || typeof invoke !== "function") throw new TypeError(`Team member: ${method}() is on something that is not an agent`);
  const db = runtime.db;
  if (!db.hasTable(CALLS_TABLE)) db.execScript(`CREATE TABLE IF NOT EXISTS ${CALLS_TABLE} (key TEXT PRIMARY KEY, output TEXT, at INTEGER NOT NULL) WITHOUT ROWID`);
  const done = db.statement(`SELECT output FROM ${CALLS_TABLE} WHERE key = ?`).get(key) as { output: string | null } | undefined;
  if (done) return done.output === null ? undefined : (JSON.parse(done.output) as unknown);
  // The signal goes along: a cancelled run must be able to stop the work it asked of the child.
  const output = await invoke.call(child, method, [input, call], caller);
  db.statement(`INSERT OR REPLACE INTO ${CALLS_TABLE} (key, output, at) VALUES (?, ?, ?)`).run(key, output === undefined ? null : JSON.stringify(output), Date.now());
  return output;
}

function checkName(name: string): void {
  if (typeof name !== "string" || name.length === 0 || name.length > 64 || /[/\0]/.test(name) || name.includes("::")) {
    throw new TypeError(`A team member name must be 1-64 characters without "/" or "::" (got ${JSON.stringify(name)})`);
  }
}
