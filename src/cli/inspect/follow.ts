/**
 * Following the inspector's live stream (`GET /api/stream`, Server-Sent Events): one JSON line per
 * message until the stream ends or the command is stopped (its signal: Ctrl-C, a closed pipe).
 */
import { requestFailure, reach } from "./http.ts";
import type { InspectIo } from "./output.ts";
import type { FollowPlan } from "./plan-context.ts";

/** One message of the stream. */
interface StreamMessage {
  id: string | undefined;
  topic: string;
  data: string;
}

/** Prints the stream's messages that `plan.keep` keeps; resolves to the exit status. */
export async function follow(base: URL, token: string, plan: FollowPlan, io: InspectIo): Promise<number> {
  let response: Response;
  try {
    response = await reach(base, new URL(plan.path, base), { headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" }, ...(io.signal ? { signal: io.signal } : {}) });
  } catch (error) {
    if (io.signal?.aborted) return 0;
    throw error;
  }
  if (!response.ok || !response.body) {
    io.stderr(requestFailure(response.status, await response.text()));
    return 1;
  }
  try {
    for await (const message of messagesOf(response.body)) {
      if (io.signal?.aborted) break;
      const line = lineOf(message, plan);
      if (line !== undefined) io.stdout(`${line}\n`);
    }
  } catch (error) {
    if (!io.signal?.aborted) throw error;
  }
  return 0;
}

/** The line printed for a message, or undefined when the plan leaves it out. */
function lineOf(message: StreamMessage, plan: FollowPlan): string | undefined {
  if (!plan.keep && !plan.withTopic) return message.data;
  let data: unknown;
  try {
    data = JSON.parse(message.data) as unknown;
  } catch {
    data = message.data;
  }
  if (plan.keep && !plan.keep(data)) return undefined;
  return plan.withTopic ? JSON.stringify({ topic: message.topic, ...(message.id === undefined ? {} : { id: message.id }), data }) : message.data;
}

/** The messages of an event stream's body; comments (the heartbeat) are skipped. */
async function* messagesOf(body: ReadableStream<Uint8Array>): AsyncGenerator<StreamMessage> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const message: StreamMessage = { id: undefined, topic: "message", data: "" };
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("data: ")) data.push(line.slice(6));
        else if (line.startsWith("event: ")) message.topic = line.slice(7);
        else if (line.startsWith("id: ")) message.id = line.slice(4);
      }
      if (data.length > 0) yield { ...message, data: data.join("\n") };
    }
  }
}
