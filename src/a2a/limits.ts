/** The limits of an A2A endpoint; every one is in docs/teams/a2a.md with its value. */
export interface A2ALimits {
  /** Largest request body, in bytes (HTTP 413 above). Default 1 MiB. */
  maxBodyBytes: number;
  /** Events (status changes, artifact updates) one task may log; the task fails past it. Default 10,000. */
  maxEventsPerTask: number;
  /** Push notification configs one task may have. Default 10. */
  maxPushConfigsPerTask: number;
  /** Largest `pageSize` of ListTasks (the default page is 50). Default 100. */
  maxPageSize: number;
  /** A comment line sent on an idle stream this often, so proxies keep it open (ms). Default 15,000. */
  sseKeepAliveMs: number;
}

export const DEFAULT_A2A_LIMITS: Readonly<A2ALimits> = Object.freeze({
  maxBodyBytes: 1024 * 1024,
  maxEventsPerTask: 10_000,
  maxPushConfigsPerTask: 10,
  maxPageSize: 100,
  sseKeepAliveMs: 15_000,
});

/** ListTasks page size when the client gives none. */
export const DEFAULT_PAGE_SIZE = 50;

/** Longest id a client may choose (message, task, context, push config). */
export const MAX_ID_LENGTH = 256;

/** A push notification that gets no answer within this time counts as a failed attempt (ms). */
export const DEFAULT_PUSH_TIMEOUT_MS = 10_000;

/** Attempts of one push notification, and the backoff between them. */
export const DEFAULT_PUSH_RETRY = Object.freeze({ maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 60_000 });

export function resolveLimits(limits: Partial<A2ALimits> | undefined): A2ALimits {
  const resolved = { ...DEFAULT_A2A_LIMITS, ...limits };
  for (const [key, value] of Object.entries(resolved)) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`A2A limit ${key} must be a positive integer, got ${String(value)}`);
  }
  return resolved;
}
