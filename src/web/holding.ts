/**
 * Keeps values alive while work runs. A signal made by `AbortSignal.any` is referenced only weakly
 * by the signals it follows, and a `Request` follows its `signal` only weakly too (and `fetch(request)`
 * follows the Request's own signal the same way): referenced by nothing else, either can be collected
 * mid-request, and then neither a timeout nor a caller's abort reaches the request any more.
 * @example
 * const signal = AbortSignal.any([caller, AbortSignal.timeout(10_000)]);
 * const request = new Request(url, { method: "POST", body, signal });
 * const response = await holding([request, signal], fetch(request));
 */
export async function holding<T>(value: object, work: Promise<T>): Promise<T> {
  held.add(value);
  try {
    return await work;
  } finally {
    held.delete(value);
  }
}

const held = new Set<object>();
