/**
 * A task's events as Server-Sent Events: each event's `id:` is its seq in the task's log and its
 * `data:` a JSON-RPC response carrying the stream item. A client that lost the stream sends the last
 * id it saw (`Last-Event-ID`) to SubscribeToTask / tasks/resubscribe and gets what it missed, then the
 * live events. An event leaves only once it is committed, so a replay never lacks one a client saw.
 * The stream ends after a final event (a terminal state, or one waiting for the client).
 */
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
  /** The task is about to move (a message on it was just accepted): its current state does not end the stream. */
  moving?: boolean;
  keepAliveMs: number;
}

const encoder = new TextEncoder();

export const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no" };

/** The SSE response following one task. */
export function taskStream(options: TaskStreamOptions): Response {
  const { state, taskId, version, rpcId } = options;
  let closed = false;
  let stop = (): void => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let chain = Promise.resolve();
      let lastSeen = 0;
      const end = (): void => {
        if (closed) return;
        closed = true;
        stop();
        controller.close();
      };
      const fail = (error: unknown): void => {
        if (closed) return;
        closed = true;
        stop();
        controller.error(error);
      };
      // Frames leave in order, each once what it reports is committed.
      const step = (fn: () => void | Promise<void>): void => {
        chain = chain.then(fn).catch(fail);
      };
      const write = (text: string): void => {
        if (!closed) controller.enqueue(encoder.encode(text));
      };
      const send = (seq: number, event: A2AStreamEvent): void => {
        const frame = `id: ${seq}\ndata: ${JSON.stringify({ jsonrpc: "2.0", id: rpcId, result: eventOut(event, version) })}\n\n`;
        step(async () => {
          await state.store.committed();
          write(frame);
        });
      };
      const unlisten = listen(state, taskId, (seq, event) => {
        if (seq <= lastSeen) return;
        lastSeen = seq;
        send(seq, event);
        if (event.kind === "status" && event.final) step(end);
      });
      const timer = setInterval(() => step(() => write(": keep-alive\n\n")), options.keepAliveMs);
      timer.unref();
      stop = () => {
        unlisten();
        clearInterval(timer);
      };
      // Listening and reading happen in one synchronous block: no event can fall between them.
      const stored = state.store.get(taskId);
      if (!stored) {
        end();
        return;
      }
      if (options.afterSeq === undefined) send(stored.lastSeq, { kind: "task", task: stored.task });
      else for (const { seq, event } of state.store.events(taskId, options.afterSeq)) send(seq, event);
      lastSeen = stored.lastSeq;
      if (!options.moving && isFinalState(stored.task.status.state)) step(end);
    },
    cancel() {
      closed = true;
      stop();
    },
  });
  return new Response(body, { headers: SSE_HEADERS });
}
