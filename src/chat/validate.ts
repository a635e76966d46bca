/**
 * Validation of messages received from clients: each must be a well-formed AI SDK UIMessage (the
 * SDK's own schema), no larger than `maxChatMessageBytes`, with a usable id. Errors say which
 * message and which field is wrong, without echoing the whole payload back.
 */
import { safeValidateUIMessages, type UIMessage } from "ai";
import { isRecord } from "../client/frames.ts";
import type { ChatLimits } from "./limits.ts";

export type ValidationResult<M> = { ok: true; messages: M[] } | { ok: false; error: string };

/** Checks `messages` (already known to be an array); an empty list is valid. */
export async function validateMessages<M extends UIMessage>(messages: unknown[], limits: ChatLimits): Promise<ValidationResult<M>> {
  const seen = new Set<string>();
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i];
    if (!isRecord(message)) return { ok: false, error: `messages[${i}] must be an object` };
    const id = message.id;
    if (typeof id !== "string" || id.length === 0 || id.length > limits.maxChatIdLength) {
      return { ok: false, error: `messages[${i}].id must be a string of 1-${limits.maxChatIdLength} characters` };
    }
    if (seen.has(id)) return { ok: false, error: `messages[${i}].id ${JSON.stringify(id)} appears twice` };
    seen.add(id);
    const bytes = Buffer.byteLength(JSON.stringify(message));
    if (bytes > limits.maxChatMessageBytes) {
      return { ok: false, error: tooLarge(`messages[${i}] (${JSON.stringify(id)})`, bytes, limits) };
    }
  }
  if (messages.length === 0) return { ok: true, messages: [] };
  const result = await safeValidateUIMessages<M>({ messages });
  if (!result.success) return { ok: false, error: `invalid UI message: ${describeIssues(result.error)}` };
  // A check only: what is stored is the message as sent, fields the schema does not know included (as the Agents SDK stores it).
  return { ok: true, messages: messages as M[] };
}

/** The error for a message over `maxChatMessageBytes`. */
export function tooLarge(what: string, bytes: number, limits: ChatLimits): string {
  return `${what} is ${bytes} bytes of JSON; the limit is ${limits.maxChatMessageBytes} (maxChatMessageBytes)`;
}

/** The schema's issues as `messages[0].parts[1].text: expected string`, at most three of them. */
function describeIssues(error: Error): string {
  const issues = (error.cause as { issues?: Array<{ path?: PropertyKey[]; message?: string }> } | undefined)?.issues;
  if (!Array.isArray(issues) || issues.length === 0) return error.message.split("\n")[0]!.slice(0, 300);
  return issues
    .slice(0, 3)
    .map((issue) => `${formatPath(issue.path ?? [])}: ${issue.message ?? "invalid"}`)
    .join("; ");
}

function formatPath(path: PropertyKey[]): string {
  let out = "messages";
  for (const key of path) out += typeof key === "number" ? `[${key}]` : `.${String(key)}`;
  return out;
}
