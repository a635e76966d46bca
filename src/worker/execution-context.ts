import { AsyncLocalStorage } from "node:async_hooks";
import type { ExecutionContext } from "../gateway/serve.ts";

/** An {@link ExecutionContext} for one handler call, and what its `waitUntil` promises came to. */
export interface TrackedContext {
  readonly ctx: ExecutionContext;
  /**
   * Resolves once every promise passed to `waitUntil` (including ones added while waiting) has
   * settled; lists the rejections in the order they happened.
   */
  settled(): Promise<unknown[]>;
}

const current = new AsyncLocalStorage<ExecutionContext>();

/**
 * A context whose `waitUntil` promises are tracked, as a queue batch or a cron run needs: the batch is
 * acknowledged, and the run's outcome recorded, only after they settle. `passThroughOnException` is a
 * no-op (there is no origin to pass through to). A context shared by many requests passes
 * `recordErrors: false`: rejections are logged, not kept.
 */
export function trackedContext(options: { recordErrors?: boolean } = {}): TrackedContext {
  const recordErrors = options.recordErrors ?? true;
  const pending = new Set<Promise<unknown>>();
  const errors: unknown[] = [];
  const ctx: ExecutionContext = {
    waitUntil(promise) {
      const tracked = Promise.resolve(promise).then(
        () => undefined,
        (error: unknown) => {
          if (recordErrors) errors.push(error);
          console.error("[hearth] waitUntil:", error);
        },
      );
      pending.add(tracked);
      void tracked.finally(() => pending.delete(tracked));
    },
    passThroughOnException() {},
  };
  return {
    ctx,
    async settled() {
      while (pending.size > 0) await Promise.all(pending);
      return errors;
    },
  };
}

/** Runs a handler with `ctx` as the context `waitUntil` from `cloudflare:workers` reaches. */
export function runWithContext<T>(ctx: ExecutionContext, fn: () => T): T {
  return current.run(ctx, fn);
}

/**
 * `waitUntil` from `cloudflare:workers`: extends the running handler's context; outside any handler
 * the promise simply runs, and a rejection is logged.
 */
export function waitUntil(promise: Promise<unknown>): void {
  const ctx = current.getStore();
  if (ctx) ctx.waitUntil(promise);
  else void Promise.resolve(promise).catch((error: unknown) => console.error("[hearth] waitUntil:", error));
}
