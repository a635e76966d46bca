/**
 * A task's events as Server-Sent Events: each event's `id:` is its seq in the task's log and its
 * `data:` a JSON-RPC response carrying the stream item. A client that lost the stream sends the last
 * id it saw (`Last-Event-ID`) to SubscribeToTask / tasks/resubscribe and gets what it missed, then the
 * live events. An event leaves only once it is committed, so a replay never lacks one a client saw.
 * The stream ends after a final event (a terminal state, or one waiting for the client).
 *
 * The stream is read from the task's log as the client takes it, a page at a time: a client that
 * reads slowly, or not at all, holds one page in memory, not the task's whole log (a replay from 0 of
 * a long task, or a task that keeps emitting while nobody reads).
 */
import { clearInterval, setInterval } from "node:timers"; // Node's own: never an application's fake one
import { listen, type A2AAgentState } from "./agent-state.ts";
import { isFinalState, type A2AProtocolVersion, type A2AStreamEvent } from "./types.ts";
import { eventOut } from "./wire.ts";

export type JsonRpcId = string | number | null;

export interface TaskStreamOptions {
  state: A2AAgentState;
  taskId: string;
  version: A2AProtocolVersion;
  rpcId: JsonRpcId;
  /** Replay the events after this seq; undefined: start with the task as it is now. */
  afterSeq?: number;
  keepAliveMs: number;
}

/** Events read from the log for one write to the client. */
export const STREAM_PAGE_EVENTS = 32;

const encoder = new TextEncoder();

export const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no" };

/** The SSE response following one task. Events are read from the log as the client reads. */
export function taskStream(options: TaskStreamOptions): Response {
  const { state, taskId, version, rpcId } = options;
  /** The seq of the last event read for the client. */
  let sent = options.afterSeq;
  /** The first frame (the task as it was when the stream was made), until it is read. */
  let pending: string | undefined;
  /** The log's last seq when the stream started: a final event up to it is replayed, it does not end the stream. */
  let replayedUpTo = 0;
  /** The task was final when the stream started: it ends once caught up. */
  let endsWhenCaughtUp = false;
  let closed = false;
  let keepAliveDue = false;
  let wake: (() => void) | undefined;
  let stop = (): void => {};
  const frame = (seq: number, event: A2AStreamEvent): string => `id: ${seq}\ndata: ${JSON.stringify({ jsonrpc: "2.0", id: rpcId, result: eventOut(event, version) })}\n\n`;
  /** What the client gets next, read synchronously: frames, and whether the last one ends the stream. */
  const next = (): { text: string; final: boolean } => {
    let text = "";
    for (const { seq, event } of state.store.events(taskId, sent ?? 0, STREAM_PAGE_EVENTS)) {
      text += frame(seq, event);
      sent = seq;
      if (seq > replayedUpTo && event.kind === "status" && event.final) return { text, final: true };
    }
    return { text, final: false };
  };
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        // The task as it is now, or the place to replay from: taken here, when the stream is made.
        const stored = state.store.get(taskId);
        if (!stored) return controller.close();
        replayedUpTo = stored.lastSeq;
        endsWhenCaughtUp = isFinalState(stored.task.status.state);
        if (sent === undefined) {
          sent = stored.lastSeq;
          pending = frame(stored.lastSeq, { kind: "task", task: stored.task });
        }
        const unlisten = listen(state, taskId, () => wake?.());
        const timer = setInterval(() => {
          keepAliveDue = true;
          wake?.();
        }, options.keepAliveMs);
        timer.unref();
        stop = () => {
          closed = true;
          unlisten();
          clearInterval(timer);
          wake?.();
        };
      },
      async pull(controller) {
        const end = (): void => {
          stop();
          controller.close();
        };
        while (!closed) {
          const ahead = pending !== undefined ? { text: pending, final: false } : next();
          pending = undefined;
          if (ahead.text !== "") {
            // What was read is in the transaction this waits for, or in one before it.
            await state.store.committed();
            if (closed) return;
            controller.enqueue(encoder.encode(ahead.text));
            if (ahead.final) end();
            return;
          }
          if (endsWhenCaughtUp && (sent ?? 0) >= replayedUpTo) return end();
          if (keepAliveDue) {
            keepAliveDue = false;
            controller.enqueue(encoder.encode(": keep-alive\n\n"));
            return;
          }
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      },
      cancel() {
        stop();
      },
    },
    // Pulled only when the client reads: nothing is queued ahead of it.
    { highWaterMark: 0 },
  );
  return new Response(body, { headers: SSE_HEADERS });
}
