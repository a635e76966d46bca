/**
 * The input each member step received, journaled beside its output so the inspector can show both.
 * Only for people reading the run: a resumed run never reads it, and recording it never fails a run
 * — an input too large keeps a preview with a marker, one JSON cannot encode keeps the reason.
 *
 * It lives in its own table (`_hearth_team_step_inputs`, keyed like `_hearth_team_steps`): journals
 * written before inputs were kept get the table on their next open and their old steps simply have no
 * row, which reads as "not recorded".
 */
import type { AgentDatabase } from "../storage/database.ts";

/** Largest step input journaled whole, in characters of its JSON; a larger one keeps this many as a preview. */
export const MAX_JOURNALED_INPUT_CHARS = 64 * 1024;

/** Schema of the inputs table (part of the journal's schema). */
export const STEP_INPUTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS _hearth_team_step_inputs (
  run_id TEXT NOT NULL, path TEXT NOT NULL, input TEXT NOT NULL, state TEXT NOT NULL, chars INTEGER,
  PRIMARY KEY (run_id, path)
) WITHOUT ROWID;
`;

/**
 * A step's input as journaled: whole, cut to a preview (its full size in `chars`), or not encodable
 * as JSON (a cycle, a BigInt: `reason` says which).
 */
export type JournaledInput =
  | { state: "recorded"; value: unknown; chars: number }
  | { state: "truncated"; preview: string; chars: number }
  | { state: "unserializable"; reason: string };

/** The row an input is stored as. */
export interface StoredInput {
  text: string;
  state: JournaledInput["state"];
  chars: number | null;
}

/** What to store for `input`: never throws. */
export function journaledInput(input: unknown, max = MAX_JOURNALED_INPUT_CHARS): StoredInput {
  let text: string;
  try {
    text = JSON.stringify(input === undefined ? null : input) ?? "null";
  } catch (error) {
    return { text: error instanceof Error ? error.message : String(error), state: "unserializable", chars: null };
  }
  if (text.length <= max) return { text, state: "recorded", chars: text.length };
  let kept = text.slice(0, max);
  // Never end on half a surrogate pair.
  if (/[\uD800-\uDBFF]$/.test(kept)) kept = kept.slice(0, -1);
  return { text: `${kept}${truncationMarker(text.length, max)}`, state: "truncated", chars: text.length };
}

/** The marker a truncated preview ends with. */
export function truncationMarker(chars: number, max = MAX_JOURNALED_INPUT_CHARS): string {
  return `… [input truncated: ${chars} characters of JSON, the first ${max} kept]`;
}

interface InputRow {
  path: string;
  input: string;
  state: string;
  chars: number | null;
}

/**
 * The journaled inputs of a run's steps, by path. Reads only: a journal that has no inputs table yet
 * (written before inputs were kept, not opened since) answers an empty map.
 */
export function readStepInputs(db: AgentDatabase, runId: string): Map<string, JournaledInput> {
  const inputs = new Map<string, JournaledInput>();
  if (!db.hasTable("_hearth_team_step_inputs")) return inputs;
  const rows = db.statement("SELECT path, input, state, chars FROM _hearth_team_step_inputs WHERE run_id = ?").all(runId) as unknown as InputRow[];
  for (const row of rows) inputs.set(row.path, toInput(row));
  return inputs;
}

function toInput(row: InputRow): JournaledInput {
  if (row.state === "truncated") return { state: "truncated", preview: row.input, chars: row.chars ?? row.input.length };
  if (row.state === "unserializable") return { state: "unserializable", reason: row.input };
  try {
    return { state: "recorded", value: JSON.parse(row.input) as unknown, chars: row.chars ?? row.input.length };
  } catch {
    return { state: "truncated", preview: row.input, chars: row.chars ?? row.input.length };
  }
}
