/**
 * A task's stored row and what the Agent API hands out: the payload as JSON (bounded) and back, and a
 * row as the SDK's `Schedule` or `QueueItem`.
 */
import { messageOf } from "../agent/rpc.ts";
import { LIMITS } from "../limits.ts";
import type { RetryOptions } from "../time/backoff.ts";
import type { TaskRow } from "./task-store.ts";
import type { QueueItem, Schedule, ScheduleType } from "./types.ts";

/** A payload as stored: its JSON, within `maxTaskPayloadBytes` (null for none). */
export function encodePayload(payload: unknown): string | null {
  if (payload === undefined) return null;
  let json: string | undefined;
  try {
    json = JSON.stringify(payload);
  } catch (error) {
    throw new TypeError(`The payload must be JSON-serialisable: ${messageOf(error)}`, { cause: error });
  }
  if (json === undefined) throw new TypeError("The payload must be JSON-serialisable");
  if (Buffer.byteLength(json) > LIMITS.maxTaskPayloadBytes) {
    throw new RangeError(
      `The payload is ${Buffer.byteLength(json)} bytes of JSON; the limit is ${LIMITS.maxTaskPayloadBytes} (maxTaskPayloadBytes)`,
    );
  }
  return json;
}

export function decodePayload(json: string | null): unknown {
  return json === null ? undefined : (JSON.parse(json) as unknown);
}

function common<T>(row: TaskRow) {
  return {
    id: row.id,
    callback: row.callback,
    payload: decodePayload(row.payload) as T,
    ...(row.retry === null ? {} : { retry: JSON.parse(row.retry) as RetryOptions }),
    attempts: row.attempts,
    ...(row.last_error === null ? {} : { lastError: row.last_error }),
    ...(row.tripped_at === null ? {} : { tripped: { crashes: row.started, at: row.tripped_at } }),
  };
}

export function toSchedule<T>(row: TaskRow): Schedule<T> {
  const base = { ...common<T>(row), time: Math.floor(row.due_at / 1000), dueAt: row.due_at };
  const type = row.type as ScheduleType;
  switch (type) {
    case "scheduled":
      return { ...base, type };
    case "delayed":
      return { ...base, type, delayInSeconds: (row.delay_ms ?? 0) / 1000 };
    case "cron":
      return { ...base, type, cron: row.cron!, ...(row.timezone ? { timezone: row.timezone } : {}) };
    case "interval":
      return { ...base, type, intervalSeconds: (row.interval_ms ?? 0) / 1000 };
  }
}

export function toQueueItem<T>(row: TaskRow): QueueItem<T> {
  return { ...common<T>(row), createdAt: Math.floor(row.created_at / 1000), dueAt: row.due_at };
}
