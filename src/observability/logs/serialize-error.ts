/** The JSON shape of an error in a log line, as pino's standard `err` serializer writes it. */
export interface SerializedError {
  type: string;
  message: string;
  stack: string;
  [key: string]: unknown;
}

/** Whether `value` is an Error (also one from another realm, e.g. a `vm` context), not a plain look-alike. */
export function isErrorLike(value: unknown): value is Error {
  return value instanceof Error || Object.prototype.toString.call(value) === "[object Error]";
}

/** The error's cause, when it is an Error (VError-style function causes are called). */
function causeOf(error: Error): Error | undefined {
  const raw = (error as { cause?: unknown }).cause;
  const cause = typeof raw === "function" ? (raw as () => unknown)() : raw;
  return isErrorLike(cause) ? cause : undefined;
}

/** Walks the cause chain, stopping at a cycle (reported by `onCycle`). */
function chain(error: Error, each: (error: Error) => string, separator: string, onCycle: string): string {
  const visited = new Set<Error>();
  let out = each(error);
  for (let current = causeOf(error); current; current = causeOf(current)) {
    if (visited.has(current) || current === error) return out + onCycle;
    visited.add(current);
    out += separator + each(current);
  }
  return out;
}

/**
 * An error as pino's std `err` serializer writes it: `type` (the constructor's name), `message` and
 * `stack` with the cause chain appended (`"outer: inner"`, `"…\ncaused by: …"`), `aggregateErrors` for an
 * AggregateError, then the error's other enumerable properties (nested errors serialized the same way).
 * Nested plain values are left as they are: the sanitizer that calls this walks (and redacts) them next.
 */
export function serializeError(error: Error, seen: WeakSet<object> = new WeakSet()): SerializedError {
  seen.add(error);
  const out: SerializedError = {
    type: typeof error.constructor === "function" ? error.constructor.name : String(error.name),
    message: chain(error, (e) => String(e.message ?? ""), ": ", ": ..."),
    stack: chain(error, (e) => String(e.stack ?? ""), "\ncaused by: ", "\ncauses have become circular..."),
  };
  if (Array.isArray((error as AggregateError).errors)) {
    out.aggregateErrors = (error as AggregateError).errors.map((inner: unknown) =>
      isErrorLike(inner) && !seen.has(inner) ? serializeError(inner, seen) : inner,
    );
  }
  for (const key in error) {
    if (out[key] !== undefined || key === "cause") continue;
    const value = (error as unknown as Record<string, unknown>)[key];
    if (isErrorLike(value)) {
      if (!seen.has(value)) out[key] = serializeError(value, seen);
    } else {
      out[key] = value;
    }
  }
  return out;
}
