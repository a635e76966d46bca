import type { Redactor } from "./redact.ts";
import { sanitize, thrownMessage } from "./sanitize.ts";
import { isErrorLike } from "./serialize-error.ts";

/** Stands for an Error-valued property during the sanitize pass, so a secret name or a path still censors it. */
const ERROR_SLOT = 0;

/**
 * A redacted copy of `error` that is still an Error with the same prototype (for serializers that want
 * one, as pino's `err` serializer does: `type` from the constructor, the cause chain): `message` and
 * `stack` scrubbed, its other own enumerable properties redacted as the logger redacts a field at
 * `path` (so redact paths such as `err.config.headers` apply, and secret keys are censored at any
 * depth), `cause` and an AggregateError's `errors` copied the same way. The error is never changed.
 * When the field itself is censored (its name is a secret's, or a path names it) the censor is returned.
 * @example
 * redactedError(axiosError, compileRedactor(undefined)) // an AxiosError whose config.headers.Authorization is "[Redacted]"
 */
export function redactedError(error: Error, redactor: Redactor, path: readonly string[] = ["err"]): Error | string {
  return copyError(error, redactor, path, new Map());
}

function read(source: object, key: string): unknown {
  try {
    return (source as Record<string, unknown>)[key];
  } catch (error) {
    return `[Unreadable: ${thrownMessage(error)}]`;
  }
}

/** `value` sanitized as it would be at `path` in a record; the censor when a key on the way is censored. */
function sanitizedAt(path: readonly string[], value: Record<string, unknown>, redactor: Redactor): unknown {
  let wrapped: unknown = value;
  for (let i = path.length - 1; i >= 0; i--) wrapped = { [path[i]!]: wrapped };
  let out = sanitize(wrapped, redactor);
  for (const key of path) {
    if (typeof out !== "object" || out === null) return out;
    out = (out as Record<string, unknown>)[key];
  }
  return out;
}

function copyError(source: Error, redactor: Redactor, path: readonly string[], copies: Map<Error, Error>): Error | string {
  const known = copies.get(source);
  if (known) return known;
  const props: Record<string, unknown> = {};
  const enumerable = new Set<string>();
  const nested = new Map<string, Error>();
  let aggregated: unknown[] | undefined;
  let keys: string[];
  try {
    keys = Object.getOwnPropertyNames(source);
  } catch {
    keys = [];
  }
  for (const key of keys) {
    if (key === "message" || key === "stack") continue;
    let own: PropertyDescriptor | undefined;
    try {
      own = Object.getOwnPropertyDescriptor(source, key);
    } catch {
      continue;
    }
    // What a serializer reads: enumerable properties, the cause chain, the name and aggregated errors.
    if (!own || (!own.enumerable && key !== "cause" && key !== "name" && key !== "errors")) continue;
    if (own.enumerable) enumerable.add(key);
    const value = read(source, key);
    if (isErrorLike(value)) {
      nested.set(key, value);
      props[key] = ERROR_SLOT;
    } else if (key === "errors" && Array.isArray(value)) {
      aggregated = value;
      props[key] = value.map((item: unknown) => (isErrorLike(item) ? ERROR_SLOT : item));
    } else {
      props[key] = value;
    }
  }
  const clean = sanitizedAt(path, props, redactor);
  if (typeof clean !== "object" || clean === null) return typeof clean === "string" ? clean : redactor.censor;

  // A real Error (util.types.isNativeError holds) with the original prototype: instanceof and the constructor's name as before.
  const copy = new Error();
  try {
    Object.setPrototypeOf(copy, Object.getPrototypeOf(source));
  } catch {
    // a proxy that refuses: the copy stays a plain Error
  }
  copies.set(source, copy);
  const define = (key: string, value: unknown, isEnumerable: boolean): void => {
    Object.defineProperty(copy, key, { value, enumerable: isEnumerable, writable: true, configurable: true });
  };
  const message = read(source, "message");
  define("message", redactor.scrub(typeof message === "string" ? message : String(message ?? "")), false);
  const stack = read(source, "stack");
  if (typeof stack === "string") define("stack", redactor.scrub(stack), false);
  else delete (copy as { stack?: string }).stack;
  for (const [key, value] of Object.entries(clean as Record<string, unknown>)) {
    let out = value;
    const inner = nested.get(key);
    if (inner && value === ERROR_SLOT) out = copyError(inner, redactor, [...path, key], copies);
    else if (key === "errors" && aggregated && Array.isArray(value)) {
      out = value.map((item: unknown, index) => {
        const original = aggregated![index];
        return isErrorLike(original) && item === ERROR_SLOT ? copyError(original, redactor, [...path, key, String(index)], copies) : item;
      });
    }
    define(key, out, enumerable.has(key));
  }
  return copy;
}
