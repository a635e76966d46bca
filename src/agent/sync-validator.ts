/**
 * `validateStateChange` gates a change before it is stored, so it must decide at once: a promise it
 * returns cannot stop a change already made. One that returns a promise is refused as a mistake,
 * and its outcome is observed, so a rejection cannot end the process as an unhandled one.
 */
export function refuseAsyncValidator(result: unknown, className: string): void {
  if (!isThenable(result)) return;
  try {
    result.then(undefined, () => {});
  } catch {
    // A thenable whose `then` throws has nothing left to observe.
  }
  throw new TypeError(
    `${className}.validateStateChange must be synchronous: it returned a promise, so the state change was refused (throw from it to reject a change)`,
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as { then?: unknown }).then === "function";
}
