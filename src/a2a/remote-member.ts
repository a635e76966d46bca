/**
 * A remote A2A agent as a team member. The call's idempotency key is the message id (hashed when too
 * long for one): a call repeated after a crash sends the same id, and the remote agent (a Hearth
 * endpoint dedupes by message id) answers with the task it started the first time instead of
 * starting another. Events stream into the run; a dropped stream is resumed from the last event
 * seen; aborting the call cancels the task.
 */
import { createHash } from "node:crypto";
import type { MemberCallContext, MemberResult, TeamMember } from "../teams/member.ts";
import { A2AClient, type A2AClientOptions, type A2AStreamItem } from "./client.ts";
import { A2A_ERROR_CODES, A2AError } from "./errors.ts";
import { MAX_ID_LENGTH } from "./limits.ts";
import { StreamEnd } from "./stream-end.ts";
import type { A2AArtifact, A2AMessage, A2ATask, A2ATaskState } from "./types.ts";

export interface A2AMemberOptions extends A2AClientOptions {
  /** The remote agent's JSON-RPC endpoint. */
  url: string;
  /** The member's name in its team. */
  name: string;
  /** What the member is good at (shown to routers and supervisors). */
  description?: string;
  /** Times a dropped stream is resumed before the call fails. Default 3. */
  maxReconnects?: number;
}

/** What a remote agent answered. */
export interface A2AResult {
  taskId: string;
  contextId: string;
  /** `completed`, or `input-required` / `auth-required` when the remote agent waits for more. */
  state: A2ATaskState;
  /** The text parts of the artifacts, joined by newlines (of the status message when there are no artifacts). */
  text: string;
  artifacts: A2AArtifact[];
  task: A2ATask;
}

/**
 * @example
 * const research = a2aMember({ url: "https://research.example.com/a2a", name: "research", description: "Finds sources" });
 * const desk = team("desk", pipeline(research, writer));
 */
export function a2aMember(options: A2AMemberOptions): TeamMember<string | A2AMessage, A2AResult> {
  const client = new A2AClient(options.url, options);
  const maxReconnects = options.maxReconnects ?? 3;
  return {
    kind: "member",
    name: options.name,
    // The remote agent spends its own tokens: nothing of this run's budget is reserved for it.
    estimate: { tokens: 0 },
    ...(options.description !== undefined ? { description: options.description } : {}),
    async call(input, context): Promise<MemberResult<A2AResult>> {
      const messageId = messageIdForKey(context.idempotencyKey);
      const message: A2AMessage =
        typeof input === "string" ? { messageId, role: "user", parts: [{ text: input }] } : { ...input, messageId: input.messageId || messageId, role: "user" };
      const task = await follow(client, message, context, maxReconnects);
      const { state } = task.status;
      if (state === "failed" || state === "rejected" || state === "canceled") {
        const reason = textOf(task.status.message?.parts ?? []);
        throw new Error(`Remote A2A agent ${options.name}: task ${task.id} ${state}${reason ? `: ${reason}` : ""}`);
      }
      const text = task.artifacts.length > 0 ? task.artifacts.map((artifact) => textOf(artifact.parts)).filter(Boolean).join("\n") : textOf(task.status.message?.parts ?? []);
      return { output: { taskId: task.id, contextId: task.contextId, state, text, artifacts: task.artifacts, task } };
    },
  };
}

/**
 * The message id of a call: its idempotency key, or, for a key longer than an A2A endpoint takes (a
 * Hearth endpoint refuses ids over 256 characters; deep team paths make long keys), the key's start
 * and its SHA-256. The same key always gives the same id, so a repeated call still finds its task.
 */
function messageIdForKey(key: string): string {
  if (key.length <= MAX_ID_LENGTH) return key;
  const digest = createHash("sha256").update(key).digest("hex");
  return `${key.slice(0, MAX_ID_LENGTH - digest.length - 1)}~${digest}`;
}

/**
 * Streams the task of `message` until the answer to it (resuming a dropped stream) and returns it. A
 * message naming a task continues it, and its stream may open with the task still waiting for that
 * message: the call waits for what comes after (see {@link StreamEnd}).
 */
async function follow(client: A2AClient, message: A2AMessage, context: MemberCallContext, maxReconnects: number): Promise<A2ATask> {
  let taskId: string | undefined;
  let lastSeq: number | undefined;
  const end = new StreamEnd({ continuation: message.taskId !== undefined && message.taskId !== "" });
  const onAbort = () => {
    if (taskId) void client.cancel(taskId).catch(() => {});
  };
  context.signal.addEventListener("abort", onAbort, { once: true });
  try {
    let stream: AsyncGenerator<A2AStreamItem> = client.stream(message, { signal: context.signal });
    for (let reconnects = 0; ; reconnects++) {
      try {
        for await (const item of stream) {
          if (item.seq !== undefined) lastSeq = item.seq;
          report(item, context, (id) => (taskId = id));
          if (end.reachedBy(item.event)) return await client.getTask(taskId!);
        }
      } catch (error) {
        if (context.signal.aborted) throw context.signal.reason instanceof Error ? context.signal.reason : new Error("The call was aborted");
        // A task in a terminal state cannot be subscribed to without a cursor: it is over, read it.
        if (error instanceof A2AError && error.code === A2A_ERROR_CODES.unsupportedOperation && taskId) return await client.getTask(taskId);
        if (error instanceof A2AError || reconnects >= maxReconnects) throw error;
      }
      if (context.signal.aborted) throw new Error("The call was aborted");
      if (reconnects >= maxReconnects) throw new Error(`The stream of the remote A2A agent ended before the task did (after ${maxReconnects} reconnections)`);
      // Without a task id yet, sending the same message again finds the same task (same message id).
      stream = taskId ? client.resubscribe(taskId, { ...(lastSeq !== undefined ? { afterSeq: lastSeq } : {}), signal: context.signal }) : client.stream(message, { signal: context.signal });
    }
  } finally {
    context.signal.removeEventListener("abort", onAbort);
  }
}

/** Reports one stream item to the run. */
function report(item: A2AStreamItem, context: MemberCallContext, sawTask: (id: string) => void): void {
  const { event } = item;
  switch (event.kind) {
    case "task":
      sawTask(event.task.id);
      context.emit({ type: "status", data: { taskId: event.task.id, state: event.task.status.state } });
      return;
    case "status":
      sawTask(event.taskId);
      context.emit({ type: "status", data: { taskId: event.taskId, state: event.status.state, ...(event.status.message ? { text: textOf(event.status.message.parts) } : {}) } });
      return;
    case "artifact":
      sawTask(event.taskId);
      context.emit({ type: "artifact", data: event.artifact });
      return;
    case "message":
      // An agent that answers with a message and no task: nothing to follow.
      throw new A2AError(A2A_ERROR_CODES.invalidAgentResponse, "The remote agent answered with a message instead of a task; a2aMember follows tasks");
  }
}

function textOf(parts: ReadonlyArray<{ text?: string }>): string {
  return parts
    .filter((part) => part.text !== undefined)
    .map((part) => part.text)
    .join("");
}
