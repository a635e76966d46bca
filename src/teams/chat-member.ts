/**
 * A member that is a chat agent (an AIChatAgent sub-agent of the owner): the input becomes a user
 * message of a headless turn in the child's own conversation, its streamed chunks become the member's
 * events, and its answer the output. The turn is an agent-tool run of the child keyed by the call's
 * idempotency key, so a call repeated after a crash finds the same turn instead of starting another.
 */
import type { AgentToolPull, AgentToolRunInspection } from "../chat/agent-tool-types.ts";
import type { ChatUsageSummary } from "../chat/usage.ts";
import type { SubAgentClass } from "../sub-agents/sub-agent-agent.ts";
import { idForKey, type MemberResult, type MemberUsage, type TeamMember } from "./member.ts";
import type { MemberOptions } from "./members.ts";

/** Options of {@link chatMember}. */
export interface ChatMemberOptions<I> extends MemberOptions {
  /** The member's name in the team (default the class name). */
  name?: string;
  /** Which child instance (conversation) answers the input (default one named after the member). */
  instance?: (input: I) => string;
}

/** The child-side methods an AIChatAgent has for agent-tool runs. */
interface ChatChild {
  startAgentToolRun(input: unknown, options: { runId: string }): Promise<AgentToolRunInspection>;
  pullAgentToolChunks(runId: string, options: { afterSequence: number; waitMs: number }): Promise<AgentToolPull>;
  inspectAgentToolRun(runId: string): Promise<AgentToolRunInspection | null>;
  cancelAgentToolRun(runId: string, reason?: unknown): Promise<void>;
  getUsage(options?: { limit?: number }): Promise<ChatUsageSummary>;
}

/** How long one wait for the child's next chunks lasts. */
const PULL_WAIT_MS = 5_000;

/**
 * A chat agent as a team member.
 * @example
 * const writer = chatMember(WriterChat, { description: "Writes friendly replies", instance: () => "desk-writer" });
 */
export function chatMember<I = unknown>(cls: SubAgentClass, options: ChatMemberOptions<I> = {}): TeamMember<I, unknown> {
  const name = options.name ?? cls.name;
  const { instance, name: _name, ...rest } = options;
  return {
    kind: "member",
    name,
    ...rest,
    async call(input, context): Promise<MemberResult<unknown>> {
      const owner = context.owner as { subAgent?: (cls: SubAgentClass, name: string) => Promise<ChatChild> };
      if (typeof owner.subAgent !== "function") throw new TypeError(`Team member ${name}: the run's owner is not an Agent, so it has no sub-agents`);
      const child = await owner.subAgent(cls, instance ? instance(input) : name);
      if (typeof child.startAgentToolRun !== "function") throw new TypeError(`Team member ${name}: ${cls.name} is not a chat agent (extend AIChatAgent)`);
      const runId = idForKey("team", context.idempotencyKey);
      let state = await child.startAgentToolRun(structuredClone(input), { runId });
      const onAbort = () => void child.cancelAgentToolRun(runId, String(context.signal.reason)).catch(() => undefined);
      context.signal.addEventListener("abort", onAbort, { once: true });
      try {
        for (let after = -1; state.status === "starting" || state.status === "running"; ) {
          context.signal.throwIfAborted();
          const pulled = await child.pullAgentToolChunks(runId, { afterSequence: after, waitMs: PULL_WAIT_MS });
          for (const chunk of pulled.chunks) {
            after = chunk.sequence;
            context.emit({ type: "chunk", data: JSON.parse(chunk.body) as unknown });
          }
          if (pulled.done || pulled.status === "missing") state = (await child.inspectAgentToolRun(runId)) ?? { ...state, status: "error", error: "the run is gone" };
        }
      } finally {
        context.signal.removeEventListener("abort", onAbort);
      }
      if (state.status === "completed") {
        const usage = state.requestId === undefined ? undefined : await usageOf(child, state.requestId);
        return { output: state.output ?? state.summary ?? null, ...(usage ? { usage } : {}) };
      }
      throw new Error(`${name}: the chat turn ended ${state.status}${state.error ? `: ${state.error}` : ""}`);
    },
  };
}

/** The tokens the child's turn spent (its chat agent records every model call by request). */
async function usageOf(child: ChatChild, requestId: string): Promise<MemberUsage | undefined> {
  const summary = await child.getUsage({ limit: 100 });
  const calls = summary.recent.filter((record) => record.requestId === requestId);
  if (calls.length === 0) return undefined;
  const model = calls.find((record) => record.model !== null)?.model;
  return {
    ...(model ? { model } : {}),
    inputTokens: calls.reduce((sum, record) => sum + (record.inputTokens ?? 0), 0),
    outputTokens: calls.reduce((sum, record) => sum + (record.outputTokens ?? 0), 0),
  };
}
