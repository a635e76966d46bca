/**
 * A client's tool result or approval applied to the stored conversation: the tool call is found,
 * checked (a call the server cannot run itself, in a state that takes this answer), updated, stored and
 * broadcast. Refusals go back to the sending connection as error frames.
 */
import type { UIMessage } from "ai";
import type { Connection } from "../agent/connection.ts";
import { frames as protocolFrames } from "../protocol/frames.ts";
import { chatFrames } from "./frames.ts";
import { ConversationTooLargeError, type MessageStore } from "./message-store.ts";
import { applyToolAnswer, type ToolAnswer } from "./tool-parts.ts";

/** What applying an answer needs from the chat engine. */
export interface AnswerHost<M extends UIMessage> {
  readonly messages: MessageStore<M>;
  keepLast(): number | undefined;
  broadcast(frame: string): void;
}

/** Applies `answer` to tool call `toolCallId`; true when the conversation changed (the turn may continue). */
export function applyClientAnswer<M extends UIMessage>(
  host: AnswerHost<M>,
  connection: Connection,
  what: string,
  toolCallId: string,
  answer: ToolAnswer,
  clientTools: ReadonlySet<string>,
): boolean {
  const refuse = (message: string): false => (connection.send(protocolFrames.error(`${what}: ${message}`)), false);
  const update = applyToolAnswer(host.messages.list, toolCallId, answer, clientTools);
  if (update.kind === "not-found") return refuse(`no tool call ${JSON.stringify(toolCallId)} in this conversation`);
  if (update.kind === "server-tool") {
    return refuse(`tool call ${JSON.stringify(toolCallId)} is of "${update.tool}", which the agent runs itself; its result comes from the agent`);
  }
  if (update.kind === "wrong-state") return refuse(`tool call ${JSON.stringify(toolCallId)} is in state "${update.state}" and takes no ${answer.kind}`);
  if (update.kind === "unchanged") return false;
  try {
    host.messages.put(update.message, undefined, host.keepLast());
  } catch (error) {
    if (error instanceof ConversationTooLargeError) return refuse(error.message);
    throw error;
  }
  host.broadcast(chatFrames.messageUpdated(update.message));
  return true;
}
