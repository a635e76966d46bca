import { serialize } from "node:v8";
import { LIMITS } from "../limits.ts";
import type { WorkflowStore } from "./store.ts";

/** An event for `sendEvent`, checked and cloned as it is stored: kept until a `waitForEvent` of its type takes it. */
export function prepareEvent(event: { type: string; payload?: unknown }): { type: string; payload: Uint8Array | null } {
  if (typeof event?.type !== "string" || event.type.length === 0 || event.type.length > 256) {
    throw new TypeError("sendEvent({ type, payload }): type must be a string of 1-256 characters");
  }
  const payload = event.payload === undefined ? null : serialize(event.payload);
  if (payload && payload.byteLength > LIMITS.maxWorkflowEventBytes) {
    throw new RangeError(`The event payload is ${payload.byteLength} bytes; the limit is ${LIMITS.maxWorkflowEventBytes} (maxWorkflowEventBytes)`);
  }
  return { type: event.type, payload };
}

/**
 * Stores an event for instance `id` (inside a write). In the same transaction, a waiting instance
 * becomes runnable with its event, so a crash (or maxRunningWorkflows holding it back) before it
 * starts leaves it for the boot scan, not for its timeout.
 */
export function storeEvent(store: WorkflowStore, workflow: string, id: string, event: { type: string; payload: Uint8Array | null }, now: number): void {
  store.run("INSERT INTO events (workflow, instance, type, payload, at) VALUES (?, ?, ?, ?, ?)", workflow, id, event.type, event.payload, now);
  store.run("UPDATE instances SET status = 'queued', updated_at = ? WHERE workflow = ? AND id = ? AND status = 'waiting'", now, workflow, id);
}
