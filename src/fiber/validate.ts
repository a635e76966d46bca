import { messageOf } from "../agent/rpc.ts";
import type { FiberRow } from "./fiber-store.ts";
import { FIBER_LIMITS } from "./limits.ts";
import type { FiberInspection, FiberRecoveryResult, FiberStatus } from "./types.ts";

const STATUSES: readonly FiberStatus[] = ["pending", "running", "completed", "aborted", "interrupted", "error"];
const RESULT_STATUSES = ["completed", "error", "aborted", "interrupted"] as const;

/** Names of the fibers built-in features run (a team run, a chat turn): their recovery is the feature's, not onFiberRecovered's. */
export const RESERVED_FIBER_PREFIX = "hearth:";

/**
 * A fiber name: a non-empty string of at most maxFiberNameLength characters, not starting with the
 * reserved prefix unless a built-in feature starts it (`feature`).
 */
export function checkName(api: string, name: unknown, feature = false): asserts name is string {
  if (typeof name !== "string" || name.length === 0 || name.length > FIBER_LIMITS.maxFiberNameLength) {
    throw new TypeError(`${api}(): the name must be a string of 1-${FIBER_LIMITS.maxFiberNameLength} characters (maxFiberNameLength)`);
  }
  if (!feature && name.startsWith(RESERVED_FIBER_PREFIX)) {
    throw new TypeError(
      `${api}(): fiber names starting with "${RESERVED_FIBER_PREFIX}" are reserved for Hearth's built-in features (their recovery never reaches onFiberRecovered); got ${JSON.stringify(name)}`,
    );
  }
}

/** The function given to runFiber / startFiber. */
export function checkFunction(api: string, fn: unknown): void {
  if (typeof fn !== "function") throw new TypeError(`${api}(): the second argument must be a function (ctx) => Promise`);
}

/** A `fiberId` or `idempotencyKey`: 1-256 characters, not blank. */
export function checkId(api: string, what: string, value: unknown): asserts value is string {
  if (typeof value !== "string" || value.trim().length === 0 || value.length > FIBER_LIMITS.maxFiberIdLength) {
    throw new TypeError(`${api}(): ${what} must be a non-blank string of at most ${FIBER_LIMITS.maxFiberIdLength} characters (maxFiberIdLength)`);
  }
}

/** JSON for storage: undefined → null; not serialisable or over maxFiberSnapshotBytes → a clear error. */
export function encodeJson(what: string, value: unknown): string | null {
  if (value === undefined) return null;
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(`${what} must be JSON-serialisable: ${messageOf(error)}`, { cause: error });
  }
  if (json === undefined) throw new TypeError(`${what} must be JSON-serialisable, got ${typeof value}`);
  const bytes = Buffer.byteLength(json);
  if (bytes > FIBER_LIMITS.maxFiberSnapshotBytes) {
    throw new RangeError(`${what} is ${bytes} bytes of JSON; the limit is ${FIBER_LIMITS.maxFiberSnapshotBytes} (maxFiberSnapshotBytes)`);
  }
  return json;
}

/** Metadata must be a plain JSON object. */
export function encodeMetadata(api: string, metadata: unknown): string | null {
  if (metadata === undefined) return null;
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new TypeError(`${api}(): metadata must be a plain object`);
  }
  return encodeJson(`${api}(): metadata`, metadata);
}

/** A status filter: one status or a list of them. */
export function checkStatuses(api: string, status: unknown): FiberStatus[] | undefined {
  if (status === undefined) return undefined;
  const list = Array.isArray(status) ? (status as unknown[]) : [status];
  for (const value of list) {
    if (!STATUSES.includes(value as FiberStatus)) {
      throw new TypeError(`${api}(): unknown fiber status ${JSON.stringify(value)}; known: ${STATUSES.join(", ")}`);
    }
  }
  return list as FiberStatus[];
}

/** A `limit` option: an integer >= 1; above `max` it is lowered to `max`. */
export function checkLimit(api: string, limit: unknown, fallback: number, max: number): number {
  if (limit === undefined) return fallback;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`${api}(): limit must be an integer >= 1, got ${String(limit)}`);
  }
  return Math.min(limit, max);
}

/** What a recovery result stores, after checking its shape. */
export interface StoredResult {
  status: FiberStatus;
  snapshot?: string;
  metadata?: string;
  error: string | null;
}

export function encodeResult(api: string, result: unknown): StoredResult {
  const status = (result as { status?: unknown } | null)?.status;
  if (typeof result !== "object" || result === null || !RESULT_STATUSES.includes(status as (typeof RESULT_STATUSES)[number])) {
    throw new TypeError(`${api}: a recovery result is { status: ${RESULT_STATUSES.map((s) => `"${s}"`).join(" | ")}, … }, got ${describe(result)}`);
  }
  const value = result as FiberRecoveryResult & { error?: unknown; reason?: unknown; metadata?: unknown };
  const snapshot = encodeJson(`${api}: the snapshot`, value.snapshot);
  const metadata = value.status === "completed" ? encodeMetadata(api, value.metadata) : null;
  let error: string | null = null;
  if (value.status === "error") error = value.error === undefined ? null : messageOf(value.error);
  else if (value.status !== "completed" && value.reason !== undefined) error = String(value.reason);
  return { status: value.status, ...(snapshot === null ? {} : { snapshot }), ...(metadata === null ? {} : { metadata }), error };
}

/** A stored row as the Agents SDK's `FiberInspection` (absent fields left out). */
export function inspection(row: FiberRow): FiberInspection {
  const snapshot = parse(row.snapshot);
  const metadata = parse(row.metadata);
  return {
    fiberId: row.id,
    name: row.name,
    status: row.status,
    createdAt: row.created_at,
    ...(row.idempotency_key === null ? {} : { idempotencyKey: row.idempotency_key }),
    ...(snapshot === undefined ? {} : { snapshot }),
    ...(row.error === null ? {} : { error: row.error }),
    ...(isObject(metadata) ? { metadata } : {}),
    ...(row.started_at === null ? {} : { startedAt: row.started_at }),
    ...(row.settled_at === null ? {} : { settledAt: row.settled_at }),
  };
}

export function isSettled(status: FiberStatus): boolean {
  return status !== "pending" && status !== "running";
}

/** Stored JSON back to a value; undefined when there is none. */
export function parse(json: string | null): unknown {
  return json === null ? undefined : (JSON.parse(json) as unknown);
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value)?.slice(0, 200) ?? String(value);
  } catch {
    return String(value);
  }
}
