import { randomUUID } from "node:crypto";
import { serialize } from "node:v8";
import { LIMITS } from "../limits.ts";
import { WorkflowStateError } from "./errors.ts";
import { resolveRetention, type ResolvedRetention } from "./retention.ts";
import type { WorkflowStore } from "./store.ts";
import type { WorkflowInstanceCreateOptions } from "./types.ts";

const ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,99}$/;

/** One instance to create, checked: its id, its params as structured-clone bytes, its retention. */
export interface PreparedInstance {
  id: string;
  params: Uint8Array | null;
  retention: ResolvedRetention;
}

/**
 * Checks the options of `create` / `createBatch` before anything is written: ids (default a UUID,
 * each once), params within `maxWorkflowParamsBytes`, `retention` durations. Throws on the first bad one.
 */
export function prepareInstances(workflow: string, list: readonly WorkflowInstanceCreateOptions[]): PreparedInstance[] {
  if (!Array.isArray(list)) throw new TypeError("createBatch() takes an array of { id?, params?, retention? }");
  const prepared = list.map((options, index) => {
    const id = options?.id ?? randomUUID();
    if (typeof id !== "string" || !ID_PATTERN.test(id)) {
      throw new TypeError(`Invalid workflow instance id ${JSON.stringify(id)}: use 1-100 letters, digits, "-" and "_", not starting with "-"`);
    }
    const params = options?.params === undefined ? null : serialize(options.params);
    if (params && params.byteLength > LIMITS.maxWorkflowParamsBytes) {
      throw new RangeError(
        `Params of ${workflow} instance ${id} are ${params.byteLength} bytes; the limit is ${LIMITS.maxWorkflowParamsBytes} (maxWorkflowParamsBytes)`,
      );
    }
    const where = list.length === 1 ? `${workflow}.create()` : `${workflow}.createBatch() item ${index}`;
    return { id, params, retention: resolveRetention(options?.retention, where) };
  });
  const ids = new Set<string>();
  for (const { id } of prepared) {
    if (ids.has(id)) throw new WorkflowStateError(`The batch names instance ${id} twice`);
    ids.add(id);
  }
  return prepared;
}

/** Writes the row of a prepared instance (inside the caller's transaction). */
export function insertInstance(
  store: WorkflowStore,
  workflow: string,
  { id, params, retention }: PreparedInstance,
  fields: { status: "running" | "queued"; now: number; origin: { className: string; name: string } | undefined; traceparent: string | null },
): void {
  store.run(
    `INSERT INTO instances (workflow, id, status, params, created_at, updated_at, agent_class, agent_name, success_retention, error_retention, traceparent)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    workflow,
    id,
    fields.status,
    params,
    fields.now,
    fields.now,
    fields.origin?.className ?? null,
    fields.origin?.name ?? null,
    retention.success,
    retention.error,
    fields.traceparent,
  );
}
