import { isSecretKey, WILDCARD, type PathSegment, type Redactor } from "./redact.ts";
import { isErrorLike, serializeError } from "./serialize-error.ts";

/** Deeper values are written as "[Object]" / "[Array]", as util.inspect does past its depth. */
export const MAX_DEPTH = 10;

/** A path being followed: which compiled path, and how many of its segments matched so far. */
type PathState = readonly [path: readonly PathSegment[], matched: number];

/**
 * A JSON-safe, redacted copy of `value`: errors serialized like pino's, secrets censored, cycles cut,
 * bigints as strings, `toJSON` honoured (once, as JSON.stringify calls it). The input is never
 * changed, and nothing is thrown: a getter, `toJSON` or proxy trap that throws gives
 * `"[Unreadable: <its message>]"` in place of what it guarded.
 */
export function sanitize(value: unknown, redactor: Redactor): unknown {
  const rootStates: PathState[] = redactor.paths.map((path) => [path, 0] as const);
  return walk(value, redactor, rootStates, 0, new WeakSet(), true);
}

/** The message of something thrown, without throwing again. */
export function thrownMessage(error: unknown): string {
  try {
    return isErrorLike(error) ? String(error.message) : String(error);
  } catch {
    return "unknown error";
  }
}

/** What stands for a value that threw when read. */
function unreadable(error: unknown): string {
  return `[Unreadable: ${thrownMessage(error)}]`;
}

function walk(value: unknown, redactor: Redactor, states: readonly PathState[], depth: number, seen: WeakSet<object>, honourToJSON: boolean): unknown {
  if (typeof value === "string") return redactor.scrub(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "function" || typeof value === "symbol") return undefined;
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value)) return "[Circular]";
  try {
    return walkObject(value, redactor, states, depth, seen, honourToJSON);
  } catch (error) {
    return unreadable(error);
  }
}

function walkObject(value: object, redactor: Redactor, states: readonly PathState[], depth: number, seen: WeakSet<object>, honourToJSON: boolean): unknown {
  if (isErrorLike(value)) {
    seen.add(value);
    return walk(serializeError(value), redactor, states, depth, seen, true);
  }
  const toJSON = honourToJSON ? (value as { toJSON?: unknown }).toJSON : undefined;
  if (typeof toJSON === "function") {
    // As JSON.stringify: toJSON's result is written as it is, its own toJSON not called again (a
    // `toJSON() { return this }` would otherwise recurse forever).
    const json: unknown = toJSON.call(value);
    return walk(json, redactor, states, depth, seen, false);
  }
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? "[Array]" : "[Object]";
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      return value.map((item, index) => {
        const out = child(String(index), () => item, redactor, states, depth, seen);
        return out === undefined ? null : out;
      });
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const item = child(key, () => (value as Record<string, unknown>)[key], redactor, states, depth, seen);
      if (item !== undefined) out[key] = item;
    }
    return out;
  } finally {
    // Only ancestors count as cycles: the same object twice side by side is written twice.
    seen.delete(value);
  }
}

/** One property: censored by its name or path without being read, else read (a getter may throw) and walked. */
function child(key: string, read: () => unknown, redactor: Redactor, states: readonly PathState[], depth: number, seen: WeakSet<object>): unknown {
  if (redactor.defaults && isSecretKey(key)) return redactor.censor;
  let next: PathState[] | undefined;
  for (const [path, matched] of states) {
    const segment = path[matched];
    if (segment !== WILDCARD && segment !== key) continue;
    if (matched + 1 === path.length) return redactor.censor;
    (next ??= []).push([path, matched + 1]);
  }
  let value: unknown;
  try {
    value = read();
  } catch (error) {
    return unreadable(error);
  }
  return walk(value, redactor, next ?? [], depth + 1, seen, true);
}
