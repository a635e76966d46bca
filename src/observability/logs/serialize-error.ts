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

/**
 * An error as pino's std serializer writes it: `type` (the constructor's name), `message`, `stack`, its own
 * enumerable properties (`code`, `status` …), `cause` when it is an error too, and `aggregateErrors`.
 * Nested values are left as they are: the sanitizer that calls this walks (and redacts) them next.
 */
export function serializeError(error: Error, seen: WeakSet<object> = new WeakSet()): SerializedError {
  seen.add(error);
  const out: SerializedError = {
    type: error.constructor?.name ?? "Error",
    message: String(error.message),
    stack: String(error.stack ?? ""),
  };
  if (Array.isArray((error as AggregateError).errors)) {
    out.aggregateErrors = (error as AggregateError).errors.map((inner: unknown) =>
      isErrorLike(inner) && !seen.has(inner) ? serializeError(inner, seen) : inner,
    );
  }
  const cause = (error as { cause?: unknown }).cause;
  if (isErrorLike(cause) && !seen.has(cause)) out.cause = serializeError(cause, seen);
  for (const key of Object.keys(error)) {
    if (key in out || key === "errors") continue;
    out[key] = (error as unknown as Record<string, unknown>)[key];
  }
  return out;
}
