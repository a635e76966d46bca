import { formatDuration, parseDuration } from "../time/duration.ts";
import type { WorkflowInstanceStatus, WorkflowRetention } from "./types.ts";

/**
 * Longest retention of a finished instance (10 years). Longer makes no practical difference from
 * leaving `retention` out (kept for good), and the bound keeps removal times far from float limits.
 */
export const MAX_RETENTION_MS = 3650 * 24 * 3600_000;

/** A `retention` option read once, at creation: milliseconds per way of ending, null for "kept". */
export interface ResolvedRetention {
  success: number | null;
  error: number | null;
}

const FIELDS = ["successRetention", "errorRetention"] as const;

/**
 * Checks a `retention` option and reads its durations. `where` names the call in messages, e.g.
 * `create()` or `runWorkflow()`.
 * @throws TypeError for a value that is not `{ successRetention?, errorRetention? }` or a duration
 * that cannot be read; RangeError for a negative one or one above 10 years.
 * @example
 * resolveRetention({ successRetention: "1 hour" }, "create()"); // { success: 3_600_000, error: null }
 */
export function resolveRetention(value: unknown, where: string): ResolvedRetention {
  if (value === undefined) return { success: null, error: null };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`${where}: retention must be an object { successRetention?, errorRetention? }, got ${describe(value)}`);
  }
  const unknown = Object.keys(value).filter((key) => !(FIELDS as readonly string[]).includes(key));
  if (unknown.length > 0) {
    throw new TypeError(`${where}: retention takes successRetention and errorRetention, not ${unknown.map((key) => JSON.stringify(key)).join(", ")}`);
  }
  const fields = value as WorkflowRetention;
  return { success: readField(fields.successRetention, `${where}: retention.successRetention`), error: readField(fields.errorRetention, `${where}: retention.errorRetention`) };
}

/** When the record of an instance that just ended is due for removal; null when it is kept. */
export function removalTime(retention: ResolvedRetention, status: WorkflowInstanceStatus, endedAt: number): number | null {
  // As on Cloudflare: terminated instances follow successRetention.
  const ms = status === "errored" ? retention.error : retention.success;
  return ms === null ? null : endedAt + ms;
}

function readField(value: unknown, what: string): number | null {
  if (value === undefined) return null;
  if (typeof value !== "number" && typeof value !== "string") {
    throw new TypeError(`${what} must be a number of milliseconds or a string such as "5 minutes", got ${describe(value)}`);
  }
  const ms = Math.ceil(parseDuration(value, what));
  if (ms > MAX_RETENTION_MS) {
    throw new RangeError(
      `${what} is ${formatDuration(ms)}; the limit is ${formatDuration(MAX_RETENTION_MS)} (maxWorkflowRetentionMs). Leave it out to keep the record for good`,
    );
  }
  return ms;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "string" ? JSON.stringify(value) : typeof value;
}
