/**
 * An instance's status as the API reports it, read from its stored row: the whole status (with the
 * output), or a peek without the output for agents' tracking rows.
 */
import { deserializeClone } from "../web/structured-clone.ts";
import type { InstanceRow, WorkflowStore } from "./store.ts";
import type { InstanceStatus, WorkflowInstanceStatus } from "./types.ts";

type StoredError = { name: string; message: string };

/** The status of a stored row (or of none: `unknown`). */
export function statusOfRow(row: InstanceRow | undefined): InstanceStatus {
  if (!row) return { status: "unknown" };
  return {
    status: row.status,
    ...(row.output === null ? {} : { output: deserializeClone(row.output) as unknown }),
    ...(row.error === null ? {} : { error: JSON.parse(row.error) as StoredError }),
  };
}

/** Status, error and time of the last change, without reading the output. */
export function peekInstance(store: WorkflowStore, workflow: string, id: string): { status: WorkflowInstanceStatus; error?: StoredError; updatedAt: number } | undefined {
  const row = store.get<{ status: WorkflowInstanceStatus; error: string | null; updated_at: number }>(
    "SELECT status, error, updated_at FROM instances WHERE workflow = ? AND id = ?",
    workflow,
    id,
  );
  if (!row) return undefined;
  return { status: row.status, ...(row.error === null ? {} : { error: JSON.parse(row.error) as StoredError }), updatedAt: row.updated_at };
}
