/**
 * Instances of workflows the host does not bind (a class removed or renamed): they keep their records
 * and wait until a host binds the name again.
 */
import type { Clock } from "../time/clock.ts";
import type { InstanceRow, WorkflowStore } from "./store.ts";

/**
 * The instance is due (a timer, an event) but its class is not bound: marked queued, so that the boot
 * scan of a host that binds the class again starts it. Resolves once that is durable: only then may its
 * timer go.
 */
export async function queueUnbound(store: WorkflowStore, clock: Clock, row: InstanceRow): Promise<"started" | "later"> {
  if (row.status === "queued") return "started";
  try {
    await store.write(() => {
      store.run("UPDATE instances SET status = 'queued', updated_at = ? WHERE workflow = ? AND id = ? AND epoch = ?", clock.now(), row.workflow, row.id, row.epoch);
    });
    return "started";
  } catch (error) {
    console.error(`[hearth] ${row.workflow}/${row.id}: could not queue the instance of an unbound workflow:`, error);
    return "later";
  }
}

/** Tells at boot how many unfinished instances (queued, running or waiting) each workflow not bound here has. */
export function warnUnbound(store: WorkflowStore, classes: ReadonlyMap<string, unknown>): void {
  // The names through the primary key, one seek each (not a scan of every instance ever kept).
  const names = store.all<{ workflow: string }>(
    `WITH RECURSIVE names (workflow) AS (
       SELECT min(workflow) FROM instances
       UNION ALL SELECT (SELECT min(workflow) FROM instances WHERE workflow > names.workflow) FROM names WHERE workflow IS NOT NULL)
     SELECT workflow FROM names WHERE workflow IS NOT NULL`,
  );
  for (const { workflow } of names) {
    if (classes.has(workflow)) continue;
    const { count } = store.get<{ count: number }>(
      "SELECT count(*) AS count FROM instances WHERE workflow = ? AND status IN ('queued', 'running', 'waiting')",
      workflow,
    )!;
    if (count > 0) console.error(`[hearth] ${count} unfinished instance(s) of workflow ${workflow}, which is no longer bound; they wait until it is`);
  }
}
