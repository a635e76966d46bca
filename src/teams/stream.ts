/**
 * Team runs watched over the owner's WebSocket. A client sends `{ type: "hearth_team_watch", runId,
 * after? }`; it gets every event after its cursor (`after`, the last `seq` it saw) as
 * `{ type: "hearth_team_event", runId, event }` frames, then each new event as it happens, until the
 * run ends or it sends `hearth_team_unwatch`. Watches are stored in the owner's SQLite, so they hold
 * while the agent hibernates (its sockets stay open) and wakes for an approval.
 */
import type { Connection } from "../agent/connection.ts";
import { registerFrameHandler } from "../agent/frame-handlers.ts";
import { TERMINAL_STATUSES, TeamJournal, type TeamEvent } from "./journal.ts";
import { runtimeOf } from "./runtime-of.ts";

/** Frame types of team streams. */
export const TEAM_FRAMES = { watch: "hearth_team_watch", unwatch: "hearth_team_unwatch", event: "hearth_team_event", error: "hearth_team_error" } as const;

/**
 * What an agent may define to decide which of its clients watch which team run: anything but `true`
 * refuses the watch with an error frame. Without it, every connected client may watch every run.
 * @example
 * class Room extends Agent {
 *   canWatchTeamRun(connection: Connection, runId: string) {
 *     return (connection.state as { runs?: string[] } | null)?.runs?.includes(runId) === true;
 *   }
 * }
 */
export interface TeamWatchPolicy {
  canWatchTeamRun(connection: Connection, runId: string): boolean;
}

const TABLE = "_hearth_team_watchers";
const OPEN = 1;
/** Watches per run at most (a bound on what one event fans out to). */
export const MAX_WATCHERS_PER_RUN = 1_000;

/** Per agent instance: run id → connection ids (loaded from the table on first use). */
const watching = new WeakMap<object, Map<string, Set<string>>>();

function watchersOf(agent: object): Map<string, Set<string>> {
  let map = watching.get(agent);
  if (map) return map;
  map = new Map();
  const db = runtimeOf(agent).db;
  if (db.hasTable(TABLE)) {
    for (const row of db.statement(`SELECT run_id, connection_id FROM ${TABLE}`).all() as Array<{ run_id: string; connection_id: string }>) {
      let set = map.get(row.run_id);
      if (!set) map.set(row.run_id, (set = new Set()));
      set.add(row.connection_id);
    }
  }
  watching.set(agent, map);
  return map;
}

function frame(runId: string, event: TeamEvent): string {
  return JSON.stringify({ type: TEAM_FRAMES.event, runId, event });
}

/** Sends `event` to every connection watching its run (after its writes commit); forgets closed ones. */
export function streamEvent(agent: object, event: TeamEvent): void {
  const set = watchersOf(agent).get(event.runId);
  if (!set || set.size === 0) return;
  const runtime = runtimeOf(agent);
  const text = frame(event.runId, event);
  const ended = event.type === "run-completed" || event.type === "run-failed" || event.type === "run-cancelled";
  for (const id of [...set]) {
    const record = runtime.socket(id);
    if (!record) {
      forget(agent, event.runId, id);
      continue;
    }
    runtime.db.output(() => {
      if (record.socket.readyState === OPEN) record.socket.send(text);
    });
    if (ended) forget(agent, event.runId, id);
  }
}

function forget(agent: object, runId: string, connectionId: string): void {
  const map = watchersOf(agent);
  map.get(runId)?.delete(connectionId);
  if (map.get(runId)?.size === 0) map.delete(runId);
  const db = runtimeOf(agent).db;
  if (db.hasTable(TABLE)) db.statement(`DELETE FROM ${TABLE} WHERE run_id = ? AND connection_id = ?`).run(runId, connectionId);
}

function watch(agent: object, connection: Connection, message: Record<string, unknown>): void {
  const runId = message.runId;
  const after = message.after ?? 0;
  const fail = (error: string) => connection.send(JSON.stringify({ type: TEAM_FRAMES.error, runId: typeof runId === "string" ? runId : null, error }));
  if (typeof runId !== "string" || runId.length === 0) return fail("hearth_team_watch needs a string runId");
  if (typeof after !== "number" || !Number.isInteger(after) || after < 0) return fail("hearth_team_watch: after must be an integer ≥ 0 (the last seq seen)");
  // Any client of the agent may ask; the agent decides who may read a run (a room of several users, say).
  const allowed = (agent as Partial<TeamWatchPolicy>).canWatchTeamRun?.(connection, runId) ?? true;
  if (allowed !== true) return fail(`Not allowed to watch team run ${runId} (canWatchTeamRun)`);
  const runtime = runtimeOf(agent);
  const journal = new TeamJournal(runtime.db);
  const run = journal.run(runId);
  if (!run) return fail(`No team run ${runId} on this agent`);
  for (let cursor = after; ; ) {
    const page = journal.events(runId, cursor, 500);
    for (const event of page) connection.send(frame(runId, event));
    if (page.length < 500) break;
    cursor = page.at(-1)!.seq;
  }
  if (TERMINAL_STATUSES.has(run.status)) return;
  const map = watchersOf(agent);
  let set = map.get(runId);
  if (!set) map.set(runId, (set = new Set()));
  if (set.has(connection.id)) return;
  if (set.size >= MAX_WATCHERS_PER_RUN) return fail(`Team run ${runId} has ${MAX_WATCHERS_PER_RUN} watchers already (the limit)`);
  set.add(connection.id);
  runtime.db.execScript(`CREATE TABLE IF NOT EXISTS ${TABLE} (run_id TEXT NOT NULL, connection_id TEXT NOT NULL, PRIMARY KEY (run_id, connection_id)) WITHOUT ROWID`);
  runtime.db.statement(`INSERT OR IGNORE INTO ${TABLE} (run_id, connection_id) VALUES (?, ?)`).run(runId, connection.id);
}

registerFrameHandler(TEAM_FRAMES.watch, watch);
registerFrameHandler(TEAM_FRAMES.unwatch, (agent, connection, message) => {
  if (typeof message.runId === "string") forget(agent, message.runId, connection.id);
});
