/**
 * An agent's state as the inspector shows it, read from its table (`_hearth_state`, JSON in chunks)
 * and never through `agent.state`: the first read of that on an agent with nothing stored stores
 * `initialState` — a write, broadcast to its clients, `onStateChanged` run — and a viewer's look
 * must change nothing. A state larger than INSPECTOR_LIMITS.maxStateChars is shown as its start.
 */
import type { AgentDatabase } from "../storage/database.ts";
import { INSPECTOR_LIMITS } from "./limits.ts";

/** What `GET …/state` answers. */
export interface StateView {
  /** The state; null when it is cut (see `preview`). */
  state: unknown;
  /** Present (false) when nothing is stored: `state` is then the class's `initialState`, stored at the agent's first own read. */
  stored?: false;
  /** Present (true) when the state's JSON is longer than the limit: `preview` holds its first characters, `chars` its length. */
  truncated?: true;
  chars?: number;
  preview?: string;
}

/**
 * The agent's state as stored, or its `initialState` when none is (marked `stored: false`).
 * @example stateView(db, agent.initialState) // { state: { count: 2 } }
 */
export function stateView(db: AgentDatabase, initialState: unknown): StateView {
  const chunks = db.statement("SELECT chunk, length(data) AS chars FROM _hearth_state ORDER BY chunk").all() as Array<{ chunk: number; chars: number }>;
  if (chunks.length === 0) {
    const json = initialState === undefined ? undefined : JSON.stringify(initialState);
    if (json !== undefined && json.length > INSPECTOR_LIMITS.maxStateChars) return { ...cutView(json.slice(0, INSPECTOR_LIMITS.maxStateChars), json.length), stored: false };
    return { state: initialState ?? null, stored: false };
  }
  const chars = chunks.reduce((sum, row) => sum + Number(row.chars), 0);
  if (chars <= INSPECTOR_LIMITS.maxStateChars) return { state: JSON.parse(joinedChunks(db)) as unknown };
  // Only the shown start is read into memory: chunk by chunk, the last one cut inside SQLite.
  const start = db.statement("SELECT substr(data, 1, ?) AS part FROM _hearth_state WHERE chunk = ?");
  let preview = "";
  for (const row of chunks) {
    const left = INSPECTOR_LIMITS.maxStateChars - preview.length;
    if (left <= 0) break;
    preview += (start.get(left, row.chunk) as { part: string }).part;
  }
  return cutView(preview.slice(0, INSPECTOR_LIMITS.maxStateChars), chars);
}

/** The stored state's value (undefined when none is stored), whole: the audit's hash of the state before a change. */
export function storedState(db: AgentDatabase): unknown {
  const json = joinedChunks(db);
  return json === "" ? undefined : (JSON.parse(json) as unknown);
}

function joinedChunks(db: AgentDatabase): string {
  return (db.statement("SELECT data FROM _hearth_state ORDER BY chunk").all() as Array<{ data: string }>).map((row) => row.data).join("");
}

function cutView(preview: string, chars: number): StateView {
  return { state: null, truncated: true, chars, preview };
}
