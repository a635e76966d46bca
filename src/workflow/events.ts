import { serialize } from "node:v8";
import { LIMITS } from "../limits.ts";

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
