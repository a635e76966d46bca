import type { WorkflowApi } from "./api.ts";
import type { WorkflowInstanceCreateOptions, WorkflowRetention } from "./types.ts";

/** Instances one `createBatch` call may create, as on Cloudflare. */
export const MAX_BATCH_INSTANCES = 100;

/** The object form of `createBatch` (Cloudflare's `WorkflowBatchCreateOptions`): a count of like instances, or a list. */
export type WorkflowBatchCreateOptions<Params = unknown> =
  | { count: number; params?: Params; retention?: WorkflowRetention; instances?: never }
  | { instances: readonly WorkflowInstanceCreateOptions<Params>[]; count?: never; params?: never; retention?: never };

/** One instance of an object-form batch that was not created: its place in the list, and why. */
export interface WorkflowBatchCreateError {
  index: number;
  id?: string;
  /** 409: the id exists already; 400: its options are invalid. */
  code: number;
  message: string;
}

/** Throws when a batch is over {@link MAX_BATCH_INSTANCES}. */
export function checkBatchSize(workflow: string, size: number): void {
  if (size > MAX_BATCH_INSTANCES) {
    throw new RangeError(`${workflow}.createBatch() got ${size} instances; the limit is ${MAX_BATCH_INSTANCES} per call (MAX_BATCH_INSTANCES)`);
  }
}

/** The instances an object-form batch names, checked for shape and size. */
export function batchList<Params>(workflow: string, options: WorkflowBatchCreateOptions<Params>): readonly WorkflowInstanceCreateOptions<Params>[] {
  if (options === null || typeof options !== "object") throw new TypeError(`${workflow}.createBatch() takes { count, params?, retention? }, { instances } or an array`);
  if ("instances" in options && options.instances !== undefined) {
    if (!Array.isArray(options.instances)) throw new TypeError(`${workflow}.createBatch({ instances }): instances must be an array`);
    checkBatchSize(workflow, options.instances.length);
    return options.instances;
  }
  const { count } = options;
  if (!Number.isInteger(count) || count < 1) throw new TypeError(`${workflow}.createBatch({ count }): count must be an integer of 1 or more, got ${String(count)}`);
  checkBatchSize(workflow, count);
  return Array.from({ length: count }, () => ({ params: options.params, retention: options.retention }));
}

/**
 * Creates what it can of `list` and reports the rest per instance: an existing id is an error of its
 * own (409), not of the batch. The valid ones are written in one transaction when they can be; if the
 * batch still fails (an invalid item, an id taken meanwhile), each is created on its own.
 */
export async function createEach(
  api: WorkflowApi,
  workflow: string,
  list: readonly WorkflowInstanceCreateOptions[],
): Promise<{ ids: string[]; errors: WorkflowBatchCreateError[] }> {
  const errors: WorkflowBatchCreateError[] = [];
  const pending: Array<{ index: number; options: WorkflowInstanceCreateOptions }> = [];
  for (const [index, options] of list.entries()) {
    const id = options?.id;
    if (typeof id === "string" && (await api.exists(workflow, id))) errors.push({ index, id, code: 409, message: `${workflow} instance ${id} already exists` });
    else pending.push({ index, options });
  }
  try {
    const ids = pending.length === 0 ? [] : await api.createBatch(workflow, pending.map((entry) => entry.options));
    return { ids, errors };
  } catch {
    const ids: string[] = [];
    for (const { index, options } of pending) {
      try {
        ids.push(await api.create(workflow, options));
      } catch (error) {
        const message = (error as Error).message;
        errors.push({ index, id: options?.id, code: /already exists/.test(message) ? 409 : 400, message });
      }
    }
    errors.sort((a, b) => a.index - b.index);
    return { ids, errors };
  }
}
