/** Small helpers shared by the Durable Object suites. */
import type { WorkersWebSocket } from "../../src/index.ts";

/** Resolves once `condition()` is true; fails after `ms` with `what` in the message. */
export async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every callback already queued run (timers of 0 ms included). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** `ResponseInit` as the Workers runtime takes it (Node's types lack `webSocket`). */
export function upgradeResponse(webSocket: WorkersWebSocket): Response {
  return new Response(null, { status: 101, webSocket } as ResponseInit);
}

/** The data of a socket's message event. */
export function dataOf(event: Event): string | ArrayBuffer {
  return (event as MessageEvent).data as string | ArrayBuffer;
}
