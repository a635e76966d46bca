import { createHash } from "node:crypto";

/** An error reduced to what identifies its kind: the same bug gives the same fingerprint. */
export interface ErrorIdentity {
  readonly fingerprint: string;
  readonly name: string;
  /** The message with numbers, ids, UUIDs and quoted strings replaced by placeholders. */
  readonly normalizedMessage: string;
  /** The top stack frame without line and column (`fn (file.ts)`), or "" without a stack. */
  readonly topFrame: string;
}

const QUOTED = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`/g;
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
// Hex ids (object ids, hashes, trace ids): 8+ hex characters with at least one digit.
const HEX_ID = /\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b/gi;
// Numbers, also inside words such as "user42" or "req_17".
const NUMBER = /\d+(?:\.\d+)?/g;

/**
 * A message with what varies between occurrences taken out, so "user 42 not found" and "user 7 not found" group.
 * @example
 * normalizeMessage('Row 17 of "users" (id 3f2a9c81-…) is locked'); // 'Row <n> of <str> (id <uuid>) is locked'
 */
export function normalizeMessage(message: string): string {
  return message.replace(QUOTED, "<str>").replace(UUID, "<uuid>").replace(HEX_ID, "<id>").replace(NUMBER, "<n>").replace(/\s+/g, " ").trim();
}

/** The first `at …` line of a V8 stack, without its line and column and without the directories of its file. */
export function topFrameOf(stack: string | undefined): string {
  const line = stack?.split("\n").find((l) => /^\s+at /.test(l));
  if (!line) return "";
  return line
    .trim()
    .replace(/^at /, "")
    .replace(/:\d+(?::\d+)?(\)?)$/, "$1")
    .replace(/(?:file:\/\/)?(?:[^\s()]*[/\\])([^/\\\s()]+)(\)?)$/, "$1$2");
}

/**
 * The fingerprint of an error: a hash of its name, normalised message and top stack frame.
 * @example
 * identifyError(new TypeError("Cannot read properties of undefined (reading 'id')")).fingerprint; // "5d41402abc4b2a76"
 */
export function identifyError(error: { name?: unknown; message?: unknown; stack?: unknown }): ErrorIdentity {
  const name = typeof error.name === "string" && error.name !== "" ? error.name : "Error";
  const normalizedMessage = normalizeMessage(typeof error.message === "string" ? error.message : String(error.message ?? ""));
  const topFrame = topFrameOf(typeof error.stack === "string" ? error.stack : undefined);
  const fingerprint = createHash("sha256").update(`${name}\n${normalizedMessage}\n${topFrame}`).digest("hex").slice(0, 16);
  return { fingerprint, name, normalizedMessage, topFrame };
}
