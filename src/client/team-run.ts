/**
 * Watching a team run from a client: sends `hearth_team_watch` over an agent's socket, hands every
 * event of the run to `onEvent` once, in order, and after a reconnect asks again from the last event
 * it saw — so a reload or a dropped connection misses nothing and repeats nothing.
 */

/** One event of a team run, as the server sends it (see docs/teams/index.md). */
export interface TeamRunEvent {
  runId: string;
  seq: number;
  type: string;
  path?: string;
  data?: unknown;
  at: number;
}

/** The slice of an agent socket (AgentClient, useAgent's socket, a PartySocket) a watch needs. */
export interface TeamRunSocket {
  readonly readyState: number;
  send(data: string): void;
  addEventListener(type: "message" | "open", listener: (event: { data?: unknown }) => void): void;
  removeEventListener(type: "message" | "open", listener: (event: { data?: unknown }) => void): void;
}

/** Options of {@link watchTeamRun}. */
export interface WatchTeamRunOptions {
  /** Start after this event (`seq`): the last one a previous watch saw. Default 0 (from the start). */
  after?: number;
  /** The server refused the watch (no such run, bad cursor). */
  onError?(error: string): void;
}

const OPEN = 1;
/** The run events after which a run never changes. */
export const TEAM_RUN_END_EVENTS: ReadonlySet<string> = new Set(["run-completed", "run-failed", "run-cancelled"]);

/**
 * Watches run `runId` of the agent `socket` is connected to; returns the function that stops.
 * @example
 * const stop = watchTeamRun(client, runId, (event) => console.log(event.seq, event.type));
 */
export function watchTeamRun(socket: TeamRunSocket, runId: string, onEvent: (event: TeamRunEvent) => void, options: WatchTeamRunOptions = {}): () => void {
  let cursor = options.after ?? 0;
  let stopped = false;
  const ask = () => {
    if (!stopped && socket.readyState === OPEN) socket.send(JSON.stringify({ type: "hearth_team_watch", runId, after: cursor }));
  };
  const onMessage = (message: { data?: unknown }) => {
    if (typeof message.data !== "string" || !message.data.includes(runId)) return;
    let frame: { type?: unknown; runId?: unknown; event?: TeamRunEvent; error?: unknown };
    try {
      frame = JSON.parse(message.data) as typeof frame;
    } catch {
      return;
    }
    if (frame.runId !== runId) return;
    if (frame.type === "hearth_team_error") return options.onError?.(String(frame.error));
    if (frame.type !== "hearth_team_event" || !frame.event || frame.event.seq <= cursor) return;
    cursor = frame.event.seq;
    onEvent(frame.event);
    if (TEAM_RUN_END_EVENTS.has(frame.event.type)) stop();
  };
  const stop = () => {
    if (stopped) return;
    stopped = true;
    socket.removeEventListener("message", onMessage);
    socket.removeEventListener("open", ask);
    if (socket.readyState === OPEN) socket.send(JSON.stringify({ type: "hearth_team_unwatch", runId }));
  };
  socket.addEventListener("message", onMessage);
  socket.addEventListener("open", ask); // every reconnect asks again from the cursor
  ask();
  return stop;
}
