import { isSecretKey, WILDCARD, type PathSegment, type Redactor } from "./redact.ts";
import { isErrorLike, serializeError } from "./serialize-error.ts";

/** Deeper values are written as "[Object]" / "[Array]", as util.inspect does past its depth. */
export const MAX_DEPTH = 10;

/** A path being followed: which compiled path, and how many of its segments matched so far. */
type PathState = readonly [path: readonly PathSegment[], matched: number];

export interface SanitizeOptions {
  /**
   * The copy is for `util.inspect` (console capture), not JSON: Maps and Sets stay Maps and Sets (their
   * entries redacted), Dates, RegExps and binary data stay as they are, since inspect shows their
   * content where JSON would give `{}`.
   */
  readonly forInspect?: boolean;
}

/** What one sanitize call carries through the walk. */
interface Walk {
  readonly redactor: Redactor;
  readonly forInspect: boolean;
  /** The objects being walked (ancestors of the current value), to cut cycles. */
  readonly seen: WeakSet<object>;
}

/**
 * A JSON-safe, redacted copy of `value`: errors serialized like pino's, secrets censored, cycles cut,
 * bigints as strings, `toJSON` honoured (once, as JSON.stringify calls it). The input is never
 * changed, and nothing is thrown: a getter, `toJSON` or proxy trap that throws gives
 * `"[Unreadable: <its message>]"` in place of what it guarded.
 */
export function sanitize(value: unknown, redactor: Redactor, options: SanitizeOptions = {}): unknown {
  const rootStates: PathState[] = redactor.paths.map((path) => [path, 0] as const);
  return walk({ redactor, forInspect: options.forInspect === true, seen: new WeakSet() }, value, rootStates, 0, true);
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

function walk(w: Walk, value: unknown, states: readonly PathState[], depth: number, honourToJSON: boolean): unknown {
  if (typeof value === "string") return w.redactor.scrub(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "function" || typeof value === "symbol") return undefined;
  if (value === null || typeof value !== "object") return value;
  if (w.seen.has(value)) return "[Circular]";
  try {
    return walkObject(w, value, states, depth, honourToJSON);
  } catch (error) {
    return unreadable(error);
  }
}

/** Values util.inspect shows by their content, which holds no keys to redact. */
function shownAsIs(value: object): boolean {
  return value instanceof Date || value instanceof RegExp || ArrayBuffer.isView(value) || value instanceof ArrayBuffer;
}

function walkObject(w: Walk, value: object, states: readonly PathState[], depth: number, honourToJSON: boolean): unknown {
  if (isErrorLike(value)) {
    w.seen.add(value);
    return walk(w, serializeError(value), states, depth, true);
  }
  if (w.forInspect && shownAsIs(value)) return value;
  const toJSON = honourToJSON ? (value as { toJSON?: unknown }).toJSON : undefined;
  if (typeof toJSON === "function") {
    // As JSON.stringify: toJSON's result is written as it is, its own toJSON not called again (a
    // `toJSON() { return this }` would otherwise recurse forever).
    const json: unknown = toJSON.call(value);
    return walk(w, json, states, depth, false);
  }
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? "[Array]" : "[Object]";
  w.seen.add(value);
  try {
    if (Array.isArray(value) || (w.forInspect && value instanceof Set)) {
      const items = [...(value as Iterable<unknown>)].map((item, index) => {
        const out = child(w, String(index), () => item, states, depth);
        return out === undefined ? null : out;
      });
      return value instanceof Set ? new Set(items) : items;
    }
    if (w.forInspect && value instanceof Map) {
      const out = new Map<unknown, unknown>();
      for (const [key, item] of value as Map<unknown, unknown>) {
        // A string (or number) key is redacted as an object's key would be; any other key is walked as a value.
        const name = typeof key === "string" || typeof key === "number" ? String(key) : undefined;
        out.set(name === undefined ? walk(w, key, [], depth + 1, true) : key, child(w, name ?? "", () => item, states, depth));
      }
      return out;
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const item = child(w, key, () => (value as Record<string, unknown>)[key], states, depth);
      if (item !== undefined) out[key] = item;
    }
    return out;
  } finally {
    // Only ancestors count as cycles: the same object twice side by side is written twice.
    w.seen.delete(value);
  }
}

/** One property: censored by its name or path without being read, else read (a getter may throw) and walked. */
function child(w: Walk, key: string, read: () => unknown, states: readonly PathState[], depth: number): unknown {
  const { redactor } = w;
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
  return walk(w, value, next ?? [], depth + 1, true);
}
