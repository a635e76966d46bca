import { types } from "node:util";

/**
 * What the caller of a Durable Object's method or `fetch` gets when the call fails: as on Cloudflare,
 * where the error crosses the network, a copy of what the object threw, marked `remote: true`. The
 * copy has the thrown error's name, message and stack, its own enumerable data properties (`code`,
 * say; those structured clone can copy) and a copy of its `cause`; its class is the nearest built-in
 * one (`TypeError`, `RangeError`, …, else `Error`): a class of the object's own code does not travel,
 * as between threads (shards/error-wire.ts). A thrown value that is not an error arrives as a
 * structured clone of it (an `Error` of its text when it cannot be cloned).
 */

/** Built-in error classes (beside AggregateError and DOMException): a copy is of the one the error is an instance of, else `Error`. */
const BUILT_IN_CLASSES: readonly ErrorConstructor[] = [EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError];
/** How many causes deep (and aggregated errors wide, in total) a copy goes. */
const MAX_CAUSE_DEPTH = 8;
const MAX_COPIED_ERRORS = 256;
/** Properties the copy gets in their own way, not as plain copied properties. */
const OWN_FIELDS = new Set(["name", "message", "stack", "cause", "errors", "remote"]);

export function remoteError(thrown: unknown): unknown {
  return copyOf(thrown, 0, { left: MAX_COPIED_ERRORS }, true);
}

function copyOf(thrown: unknown, depth: number, budget: { left: number }, remote: boolean): unknown {
  budget.left--;
  if (!(thrown instanceof Error) && !types.isNativeError(thrown)) return cloned(thrown);
  const deeper = depth < MAX_CAUSE_DEPTH && budget.left > 0;
  const copy = emptyCopy(thrown, deeper ? (inner) => copyOf(inner, depth + 1, budget, false) : undefined);
  if (copy.name !== thrown.name) Object.defineProperty(copy, "name", { value: thrown.name, writable: true, configurable: true });
  if (typeof thrown.stack === "string") copy.stack = thrown.stack;
  if (deeper && Object.hasOwn(thrown, "cause")) {
    const cause = copyOf(thrown.cause, depth + 1, budget, false);
    Object.defineProperty(copy, "cause", { value: cause, writable: true, configurable: true });
  }
  for (const key of Object.keys(thrown)) {
    const descriptor = Object.getOwnPropertyDescriptor(thrown, key);
    if (OWN_FIELDS.has(key) || descriptor === undefined || !("value" in descriptor)) continue;
    const value = cloneable(descriptor.value);
    if (value.ok) Object.defineProperty(copy, key, { value: value.copy, writable: true, enumerable: true, configurable: true });
  }
  // Set on the errors the object's code threw, not on their causes (workerd marks the thrown one).
  if (remote || (thrown as { remote?: unknown }).remote === true) (copy as Error & { remote: boolean }).remote = true;
  return copy;
}

/** A new error of `error`'s nearest built-in class with its message (and, for an AggregateError, copies of its errors). */
function emptyCopy(error: Error, copyInner: ((inner: unknown) => unknown) | undefined): Error {
  const message = String(error.message);
  if (error instanceof DOMException) return new DOMException(message, error.name);
  if (error instanceof AggregateError) {
    const errors: unknown = error.errors;
    return new AggregateError(copyInner !== undefined && Array.isArray(errors) ? errors.map(copyInner) : [], message);
  }
  const Class = BUILT_IN_CLASSES.find((candidate) => error instanceof candidate) ?? Error;
  return new Class(message);
}

/** A structured clone of a thrown value that is not an error; an `Error` of its text when it has none. */
function cloned(thrown: unknown): unknown {
  const value = cloneable(thrown);
  if (value.ok) return value.copy;
  return new Error(describe(thrown));
}

function cloneable(value: unknown): { ok: true; copy: unknown } | { ok: false } {
  if (value === null || (typeof value !== "object" && typeof value !== "function" && typeof value !== "symbol")) return { ok: true, copy: value };
  try {
    return { ok: true, copy: structuredClone(value) };
  } catch {
    return { ok: false };
  }
}

function describe(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
