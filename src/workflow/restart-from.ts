import { WorkflowStateError } from "./errors.ts";
import type { StepRow, WorkflowStore } from "./store.ts";
import type { WorkflowInstanceRestartOptions } from "./types.ts";

type RestartPoint = NonNullable<WorkflowInstanceRestartOptions["from"]>;

const KIND_OF_TYPE: Record<NonNullable<RestartPoint["type"]>, StepRow["kind"]> = { do: "do", sleep: "sleep", waitForEvent: "event" };
const TYPE_OF_KIND: Record<StepRow["kind"], NonNullable<RestartPoint["type"]>> = { do: "do", sleep: "sleep", event: "waitForEvent" };

/**
 * The `seq` of the recorded step `restart({ from })` names: it and the steps recorded after it are
 * discarded, the ones before it keep their results. Steps are found by name, kind and their order
 * among the calls of that kind and name, whatever key scheme recorded them. Throws, before anything
 * is written, when the step is not in the instance's history or its kind is ambiguous.
 */
export function restartSeq(store: WorkflowStore, workflow: string, id: string, from: RestartPoint): number {
  const { name, count = 1, type } = from ?? ({} as RestartPoint);
  if (typeof name !== "string" || name.length === 0) throw new TypeError("restart({ from }): from.name must be a non-empty string");
  if (!Number.isInteger(count) || count < 1) throw new TypeError(`restart({ from }): from.count must be an integer of 1 or more, got ${String(count)}`);
  if (type !== undefined && !(type in KIND_OF_TYPE)) throw new TypeError(`restart({ from }): from.type must be "do", "sleep" or "waitForEvent", got ${JSON.stringify(type)}`);
  const rows = store.all<{ key: string; seq: number; kind: StepRow["kind"] }>(
    "SELECT key, seq, kind FROM steps WHERE workflow = ? AND instance = ? ORDER BY seq",
    workflow,
    id,
  );
  const matches = new Map<StepRow["kind"], number>();
  const seen = new Map<StepRow["kind"], number>();
  for (const row of rows) {
    if (row.key.slice(row.key.indexOf(":") + 1) !== name) continue;
    if (type !== undefined && row.kind !== KIND_OF_TYPE[type]) continue;
    const nth = (seen.get(row.kind) ?? 0) + 1;
    seen.set(row.kind, nth);
    if (nth === count) matches.set(row.kind, row.seq);
  }
  const described = `step ${JSON.stringify(name)}${count > 1 ? ` (count ${count})` : ""}${type ? ` of type ${type}` : ""}`;
  if (matches.size === 0) throw new WorkflowStateError(`Cannot restart ${workflow} instance ${id} from ${described}: it is not in the instance's execution history`);
  if (matches.size > 1) {
    const types = [...matches.keys()].map((kind) => TYPE_OF_KIND[kind]).join(", ");
    throw new WorkflowStateError(`Cannot restart ${workflow} instance ${id} from ${described}: steps of several types have that name (${types}); set from.type`);
  }
  return [...matches.values()][0]!;
}

/**
 * Inside the caller's transaction: drops the steps recorded from `fromSeq` on (0: all) and the pending
 * events, and queues the instance under a new epoch (an execution still running can record nothing more).
 */
export function resetForRestart(store: WorkflowStore, workflow: string, id: string, fromSeq: number, now: number): void {
  store.run("DELETE FROM steps WHERE workflow = ? AND instance = ? AND seq >= ?", workflow, id, fromSeq);
  // As on Cloudflare: events the old run did not take are not for the new one.
  store.run("DELETE FROM events WHERE workflow = ? AND instance = ?", workflow, id);
  store.run(
    `UPDATE instances SET status = 'queued', epoch = epoch + 1, output = NULL, error = NULL, expires_at = NULL, updated_at = ?
     WHERE workflow = ? AND id = ?`,
    now,
    workflow,
    id,
  );
}
