/**
 * Workflow instances: list and detail with steps from the engines open here (one; a cluster node:
 * the partitions it holds), and start / event / pause / resume / terminate / restart through the
 * `env` bindings, which reach wherever an instance runs (docs/inspector/api.md §Workflows).
 */
import { deserializeClone } from "../../web/structured-clone.ts";
import { hasWorkflows } from "../../platform/host.ts";
import { isWorkflowBinding, type WorkflowBinding, type WorkflowInstance } from "../../workflow/binding.ts";
import type { WorkflowEngine } from "../../workflow/engine.ts";
import { WorkflowStateError } from "../../workflow/errors.ts";
import { ApiError, badRequest, cursorOffset, notEnabled, notFound, offsetCursor, pageLimit } from "../http.ts";
import type { Route, RouteContext } from "../router.ts";

const STEP_KINDS = { do: "do", sleep: "sleep", event: "waitForEvent" } as const;
const ACTIONS = ["pause", "resume", "terminate", "restart"] as const;

/** The engines open here; "not enabled" for a project without workflows. */
function enginesOf(ctx: RouteContext): readonly WorkflowEngine[] {
  if (!hasWorkflows(ctx.sources.host)) throw notEnabled("Workflows");
  return ctx.sources.host.workflowEngines;
}

function decoded(bytes: Uint8Array | null): unknown {
  if (bytes === null) return null;
  try {
    return deserializeClone(bytes) as unknown;
  } catch {
    return { $unreadable: bytes.byteLength };
  }
}

function errorOf(text: string | null): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { message: text };
  }
}

function list(ctx: RouteContext) {
  const engines = enginesOf(ctx);
  const workflow = ctx.query.get("workflow") || null;
  const status = ctx.query.get("status") || null;
  const q = ctx.query.get("q") || null;
  const offset = cursorOffset(ctx.query);
  const limit = pageLimit(ctx.query);
  // Each engine's first offset + limit + 1 rows, merged in the same order: the page is the same as from one engine.
  const rows = engines
    .flatMap((engine) =>
      engine.store.all<{ workflow: string; id: string; status: string; created_at: number; updated_at: number; error: string | null }>(
        `SELECT workflow, id, status, created_at, updated_at, error FROM instances
         WHERE (?1 IS NULL OR workflow = ?1) AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR instr(id, ?3) > 0)
         ORDER BY updated_at DESC, workflow, id LIMIT ?4`,
        workflow,
        status,
        q,
        offset + limit + 1,
      ),
    )
    .sort((a, b) => b.updated_at - a.updated_at || compareText(a.workflow, b.workflow) || compareText(a.id, b.id))
    .slice(offset, offset + limit + 1);
  const items = rows.slice(0, limit).map((row) => ({
    workflow: row.workflow,
    id: row.id,
    status: row.status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...(row.error === null ? {} : { error: errorOf(row.error) }),
  }));
  return { items, next: rows.length > limit ? offsetCursor(offset + limit) : null };
}

/** Binary order, as SQLite's ORDER BY on text. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function detail(ctx: RouteContext) {
  const { workflow, id } = ctx.params as { workflow: string; id: string };
  const engine = enginesOf(ctx).find((one) => one.exists(workflow, id));
  if (!engine) throw notFound(`${workflow} has no instance ${JSON.stringify(id)}`);
  const row = engine.store.get<{ status: string; params: Uint8Array | null; output: Uint8Array | null; error: string | null; created_at: number; updated_at: number; agent_class: string | null; agent_name: string | null }>(
    "SELECT status, params, output, error, created_at, updated_at, agent_class, agent_name FROM instances WHERE workflow = ? AND id = ?",
    workflow,
    id,
  )!;
  const steps = engine.store
    .all<{
      key: string;
      seq: number;
      kind: keyof typeof STEP_KINDS;
      status: string;
      result: Uint8Array | null;
      error: string | null;
      attempts: number;
      wake_at: number | null;
      awaits: string | null;
      started_at: number | null;
      ended_at: number | null;
    }>(
      "SELECT key, seq, kind, status, result, error, attempts, wake_at, awaits, started_at, ended_at FROM steps WHERE workflow = ? AND instance = ? ORDER BY seq",
      workflow,
      id,
    )
    .map((step) => {
      const now = ctx.sources.host.clock.now();
      const name = step.key.slice(step.key.indexOf(":") + 1);
      return {
        name,
        kind: STEP_KINDS[step.kind] ?? step.kind,
        status: step.status,
        attempts: step.attempts,
        startedAt: step.started_at,
        // A sleep is never recorded again: it ended when its time came.
        endedAt: step.ended_at ?? (step.kind === "sleep" && step.wake_at !== null && step.wake_at <= now ? step.wake_at : null),
        ...(step.status === "done" ? { output: decoded(step.result) } : {}),
        ...(step.error === null ? {} : { error: errorOf(step.error) }),
        ...(step.wake_at === null ? {} : { wakeAt: step.wake_at }),
        // The event type `sendEvent` must carry to end the wait (the step's name is `name`).
        ...(step.status === "waiting" && step.awaits !== null ? { waitingFor: step.awaits } : {}),
      };
    });
  return {
    workflow,
    id,
    status: row.status,
    params: decoded(row.params),
    ...(row.output === null ? {} : { output: decoded(row.output) }),
    ...(row.error === null ? {} : { error: errorOf(row.error) }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...(row.agent_class === null ? {} : { agent: { class: row.agent_class, name: row.agent_name } }),
    steps,
  };
}

/** The `env` binding of `workflow`; 404 when there is none. */
function bindingOf(ctx: RouteContext, workflow: string): WorkflowBinding {
  enginesOf(ctx);
  const binding = ctx.sources.host.env[workflow];
  if (!isWorkflowBinding(binding) || binding.name !== workflow) throw notFound(`No workflow binding ${JSON.stringify(workflow)}`);
  return binding;
}

/** A handle on instance `id` of `workflow`; 404 when there is none. */
async function instanceOf(ctx: RouteContext, workflow: string, id: string): Promise<WorkflowInstance> {
  const binding = bindingOf(ctx, workflow);
  try {
    return await binding.get(id);
  } catch (error) {
    if (error instanceof WorkflowStateError) throw notFound(`${workflow} has no instance ${JSON.stringify(id)}`);
    throw error;
  }
}

/** Its status now, or "unknown" when it could not be read (it went away meanwhile). */
async function statusOf(instance: WorkflowInstance): Promise<string> {
  return (await instance.status().catch(() => undefined))?.status ?? "unknown";
}

function stateError(error: unknown): never {
  if (error instanceof ApiError) throw error;
  throw new ApiError(409, "workflow_state", error instanceof Error ? error.message : String(error));
}

export const workflowRoutes: Route[] = [
  { method: "GET", path: "/api/workflows", handler: (ctx) => ({ json: list(ctx) }) },
  { method: "GET", path: "/api/workflows/:workflow/:id", handler: (ctx) => ({ json: detail(ctx) }) },
  {
    method: "POST",
    path: "/api/workflows/:workflow",
    write: true,
    status: 201,
    handler: async (ctx) => {
      const workflow = ctx.params.workflow!;
      const binding = bindingOf(ctx, workflow);
      const body = await ctx.body();
      if (body.id !== undefined && typeof body.id !== "string") throw badRequest("id must be a string");
      const id = await ctx.audited("workflow.start", workflow, { id: body.id ?? null, params: body.params ?? null }, async () => {
        try {
          const instance = await binding.create({ ...(body.id === undefined ? {} : { id: body.id as string }), params: body.params });
          return { result: instance.id };
        } catch (error) {
          return stateError(error);
        }
      });
      return { status: 201, json: { id } };
    },
  },
  {
    method: "POST",
    path: "/api/workflows/:workflow/:id/event",
    write: true,
    handler: async (ctx) => {
      const { workflow, id } = ctx.params as { workflow: string; id: string };
      const instance = await instanceOf(ctx, workflow, id);
      const body = await ctx.body();
      if (typeof body.type !== "string" || body.type === "") throw badRequest("The body must be { type: string, payload? }");
      await ctx.audited("workflow.event", `${workflow}/${id}`, { type: body.type }, async () => {
        try {
          await instance.sendEvent({ type: body.type as string, payload: body.payload });
          return { result: undefined };
        } catch (error) {
          return stateError(error);
        }
      });
      return { json: { status: await statusOf(instance) } };
    },
  },
  ...ACTIONS.map(
    (action): Route => ({
      method: "POST",
      path: `/api/workflows/:workflow/:id/${action}`,
      write: true,
      handler: async (ctx) => {
        const { workflow, id } = ctx.params as { workflow: string; id: string };
        const instance = await instanceOf(ctx, workflow, id);
        let after = "unknown";
        await ctx.audited(`workflow.${action}`, `${workflow}/${id}`, {}, async () => {
          const before = await statusOf(instance);
          try {
            await instance[action]();
          } catch (error) {
            return stateError(error);
          }
          after = await statusOf(instance);
          return { result: undefined, before, after };
        });
        return { json: { status: after } };
      },
    }),
  ),
];
