/**
 * Executors from what a team is made of: a team member (text in → `member.call` → an artifact out,
 * its events as progress) and a whole team (a durable team run per task: after a restart the same
 * run goes on instead of starting again).
 */
import type { MemberEvent, TeamMember } from "../teams/member.ts";
import type { A2AExecutor, A2AMessage, A2APart } from "./types.ts";

/** Options of {@link memberExecutor} and {@link teamExecutor}. */
export interface ExecutorOptions<I> {
  /** The member's (or team's) input from the client's message. Default: its text parts joined by newlines, or its one data part. */
  input?: (message: A2AMessage) => I;
  /** Name of the artifact holding the output. Default "result". */
  artifactName?: string;
}

/**
 * Serves a team member over A2A. The call's idempotency key is the task and message ids, so a task
 * resumed after a restart asks a durable member (a sub-agent) for the result it already has.
 * @example
 * const executor = memberExecutor(subAgentMember(Researcher, { method: "research" }));
 * return handleA2ARequest(this, request, { card, executor });
 */
export function memberExecutor<I = unknown, O = unknown>(member: TeamMember<I, O>, options: ExecutorOptions<I> = {}): A2AExecutor {
  return async (message, context) => {
    const input = options.input ? options.input(message) : (messageInput(message) as I);
    const result = await member.call(input, {
      runId: context.taskId,
      team: "a2a",
      path: `a2a/${member.name}`,
      idempotencyKey: `a2a:${context.taskId}:${message.messageId}`,
      signal: context.signal,
      owner: context.agent,
      emit: (event) => context.emit({ status: "working", message: progressMessage(event) }),
    });
    context.emit({ artifact: { name: options.artifactName ?? "result", parts: outputParts(result.output), ...(result.usage ? { metadata: { usage: result.usage } } : {}) } });
  };
}

/** A team as {@link teamExecutor} needs it (a `Team` from `hearth/teams`). */
export interface StartableTeam<I, O> {
  readonly name: string;
  start(
    agent: object,
    input: I,
    options?: { runId?: string; conversation?: string },
  ): Promise<{ result(): Promise<O>; watch(listener: (event: { type: string; path?: string; data?: unknown }) => void): () => void; cancel(reason?: string): Promise<void> }>;
}

/**
 * Serves a team over A2A: each task is one team run (run id `a2a-<task id>`, conversation = the
 * task's context), journaled in the agent's SQLite; its events stream as progress, its output is the
 * task's artifact, cancelling the task cancels the run.
 * @example
 * const desk = team("desk", route({ routes: { support, billing }, by: classify }));
 * return handleA2ARequest(this, request, { card, executor: teamExecutor(desk) });
 */
export function teamExecutor<I = unknown, O = unknown>(team: StartableTeam<I, O>, options: ExecutorOptions<I> = {}): A2AExecutor {
  return async (message, context) => {
    const input = options.input ? options.input(message) : (messageInput(message) as I);
    const run = await team.start(context.agent, input, { runId: `a2a-${context.taskId}`, conversation: context.contextId });
    const stop = run.watch((event) => context.emit({ status: "working", message: progressMessage(event) }));
    const onAbort = () => void run.cancel("Canceled by the A2A client").catch(() => {});
    context.signal.addEventListener("abort", onAbort, { once: true });
    try {
      const output = await run.result();
      context.emit({ artifact: { name: options.artifactName ?? "result", parts: outputParts(output) } });
    } finally {
      stop();
      context.signal.removeEventListener("abort", onAbort);
    }
  };
}

/**
 * The text of a message (its text parts joined by newlines), or its only data part's value, or the message.
 * @example
 * messageInput({ messageId: "m", role: "user", parts: [{ text: "a" }, { text: "b" }] }); // "a\nb"
 */
export function messageInput(message: A2AMessage): unknown {
  const texts = message.parts.filter((part) => part.text !== undefined).map((part) => part.text!);
  if (texts.length > 0) return texts.join("\n");
  const data = message.parts.filter((part) => part.data !== undefined);
  if (data.length === 1) return data[0]!.data;
  return message;
}

/**
 * A string as a text part, anything else as a JSON data part.
 * @example
 * outputParts({ total: 3 }); // [{ data: { total: 3 }, mediaType: "application/json" }]
 */
export function outputParts(output: unknown): A2APart[] {
  if (typeof output === "string") return [{ text: output }];
  return [{ data: output ?? null, mediaType: "application/json" }];
}

function progressMessage(event: MemberEvent | { type: string; path?: string; data?: unknown }): A2AMessage {
  return { messageId: "", role: "agent", parts: [{ data: event, mediaType: "application/json" }], metadata: { "hearth.progress": true } };
}
