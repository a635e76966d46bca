/**
 * An agent's connections, callable methods, schedules and queue (docs/inspector/api.md §Agents).
 * Every change runs inside the agent, as one of its events.
 */
import { Cron } from "croner";
import { HANDLE } from "../../agent/agent-base.ts";
import type { QueueItem, Schedule } from "../../schedule/types.ts";
import { MAX_CLOSE_REASON_BYTES } from "../../websocket/close-reason.ts";
import { redactedUri } from "../../web/redacted-uri.ts";
import { ApiError, badRequest, notFound, pageOf, pageRange } from "../http.ts";
import type { Route } from "../router.ts";
import { agentAddress, inAgentBase } from "./agent-address.ts";

/** How many upcoming runs a schedule lists. */
const NEXT_RUNS = 5;

interface TaskApi {
  getSchedules(): Schedule[];
  getSchedule(id: string): Schedule | undefined;
  cancelSchedule(id: string): Promise<boolean>;
  getQueues(): QueueItem[];
  dequeue(id: string): Promise<boolean>;
}

function tasksOf(agent: object): TaskApi {
  if (typeof (agent as Partial<TaskApi>).getSchedules !== "function") throw new ApiError(400, "not_supported", "This agent has no schedules or queue");
  return agent as TaskApi;
}

/** The next runs of a schedule (epoch ms). */
export function nextRuns(schedule: Schedule): number[] {
  if (schedule.type === "cron") {
    try {
      const cron = new Cron(schedule.cron, { paused: true, ...(schedule.timezone ? { timezone: schedule.timezone } : {}) });
      return cron.nextRuns(NEXT_RUNS, new Date(schedule.dueAt - 1)).map((date) => date.getTime());
    } catch {
      return [schedule.dueAt];
    }
  }
  if (schedule.type === "interval") return Array.from({ length: NEXT_RUNS }, (_, i) => schedule.dueAt + i * schedule.intervalSeconds * 1000);
  return [schedule.dueAt];
}

function scheduleView(schedule: Schedule) {
  return {
    id: schedule.id,
    callback: schedule.callback,
    type: schedule.type,
    time: schedule.dueAt,
    ...(schedule.type === "cron" ? { cron: schedule.cron } : {}),
    ...(schedule.type === "interval" ? { intervalSeconds: schedule.intervalSeconds } : {}),
    payload: schedule.payload ?? null,
    attempts: schedule.attempts,
    ...(schedule.lastError ? { lastError: schedule.lastError } : {}),
    nextRuns: nextRuns(schedule),
  };
}

/** A queued item as listed: why it is still there shows in `attempts`, `lastError` and `tripped`. */
function queueView(item: QueueItem) {
  return {
    id: item.id,
    callback: item.callback,
    payload: item.payload ?? null,
    createdAt: item.createdAt * 1000,
    attempts: item.attempts,
    dueAt: item.dueAt,
    ...(item.lastError ? { lastError: item.lastError } : {}),
    ...(item.tripped ? { tripped: item.tripped } : {}),
  };
}

export const agentTaskRoutes: Route[] = [
  {
    method: "GET",
    path: "/api/agents/:class/:name/connections",
    handler: async (ctx) => {
      const range = pageRange(ctx.query);
      return {
        json: await inAgentBase(ctx, ({ runtime }) => {
          const page = pageOf([...runtime!.sockets()], range);
          return {
            items: page.items.map((record) => ({
              id: record.id,
              tags: record.tags,
              state: record.stateJson === undefined ? null : (JSON.parse(record.stateJson) as unknown),
              connectedAt: record.connectedAt ?? null,
              uri: redactedUri(record.url),
              readonly: record.readonly,
            })),
            next: page.next,
          };
        }),
      };
    },
  },
  {
    method: "POST",
    path: "/api/agents/:class/:name/connections/:id/send",
    write: true,
    handler: async (ctx) => {
      const body = await ctx.body();
      if (typeof body.message !== "string") throw badRequest("The body must be { message: string }");
      const address = agentAddress(ctx);
      await ctx.audited("connection.send", `${address.label}#${ctx.params.id}`, { bytes: Buffer.byteLength(body.message) }, () =>
        inAgentBase(ctx, ({ agent }) => {
          const connection = agent.getConnection(ctx.params.id!);
          if (!connection) throw notFound(`${address.label} has no open connection ${JSON.stringify(ctx.params.id)}`);
          connection.send(body.message as string);
          return { result: undefined };
        }),
      );
      return { json: { sent: true } };
    },
  },
  {
    method: "POST",
    path: "/api/agents/:class/:name/connections/:id/close",
    write: true,
    handler: async (ctx) => {
      const body = await ctx.body();
      const code = body.code === undefined ? 1000 : body.code;
      const reason = body.reason === undefined ? "" : body.reason;
      if (typeof code !== "number" || !Number.isInteger(code) || !(code === 1000 || (code >= 3000 && code <= 4999))) {
        throw badRequest("code must be 1000 or from 3000 to 4999 (the close codes an application may send)");
      }
      if (typeof reason !== "string" || Buffer.byteLength(reason) > MAX_CLOSE_REASON_BYTES) {
        throw badRequest(`reason must be a string of at most ${MAX_CLOSE_REASON_BYTES} bytes (the WebSocket limit)`);
      }
      const address = agentAddress(ctx);
      await ctx.audited("connection.close", `${address.label}#${ctx.params.id}`, { code, reason }, () =>
        inAgentBase(ctx, ({ agent }) => {
          const connection = agent.getConnection(ctx.params.id!);
          if (!connection) throw notFound(`${address.label} has no open connection ${JSON.stringify(ctx.params.id)}`);
          connection.close(code, reason);
          return { result: undefined };
        }),
      );
      return { json: { closed: true } };
    },
  },
  {
    method: "GET",
    path: "/api/agents/:class/:name/methods",
    handler: async (ctx) => ({
      json: await inAgentBase(ctx, ({ agent }) =>
        [...agent.getCallableMethods()].map(([name, options]) => ({ name, ...(options.description ? { description: options.description } : {}), streaming: options.streaming === true })),
      ),
    }),
  },
  {
    method: "POST",
    path: "/api/agents/:class/:name/methods/:method",
    write: true,
    handler: async (ctx) => {
      const body = await ctx.body();
      const args = body.args === undefined ? [] : body.args;
      if (!Array.isArray(args)) throw badRequest("args must be an array of JSON arguments");
      const address = agentAddress(ctx);
      const method = ctx.params.method!;
      const result = await ctx.audited("method.invoke", `${address.label}.${method}`, { args }, () =>
        inAgentBase(ctx, async ({ agent, actor }) => {
          const options = agent.getCallableMethods().get(method);
          if (!options) throw notFound(`${address.label} has no callable method ${JSON.stringify(method)}`);
          if (options.streaming) throw new ApiError(400, "streaming_method", `${method} streams its result: call it over a WebSocket connection`);
          try {
            return { result: await actor[HANDLE.invoke](method, args) };
          } catch (error) {
            throw new ApiError(422, "method_failed", `${method} threw: ${error instanceof Error ? error.message : String(error)}`);
          }
        }),
      );
      return { json: { result: result ?? null } };
    },
  },
  {
    method: "GET",
    path: "/api/agents/:class/:name/schedules",
    handler: async (ctx) => {
      const range = pageRange(ctx.query);
      return {
        json: await inAgentBase(ctx, ({ agent }) => {
          const page = pageOf(tasksOf(agent).getSchedules(), range);
          return { items: page.items.map(scheduleView), next: page.next };
        }),
      };
    },
  },
  {
    method: "POST",
    path: "/api/agents/:class/:name/schedules/:id/run",
    write: true,
    handler: async (ctx) => {
      const address = agentAddress(ctx);
      const id = ctx.params.id!;
      await ctx.audited("schedule.run", `${address.label}#${id}`, {}, () =>
        inAgentBase(ctx, async ({ agent, actor }) => {
          const tasks = tasksOf(agent);
          const schedule = tasks.getSchedule(id);
          if (!schedule) throw notFound(`${address.label} has no schedule ${JSON.stringify(id)}`);
          // A one-shot schedule run now is done; a recurring one keeps its next run.
          if (schedule.type === "scheduled" || schedule.type === "delayed") await tasks.cancelSchedule(id);
          try {
            await actor[HANDLE.invoke](schedule.callback, [schedule.payload, schedule]);
          } catch (error) {
            // The agent's own code failed, not the inspector: answered as a callable method's failure is.
            throw new ApiError(422, "schedule_failed", `${schedule.callback} threw: ${error instanceof Error ? error.message : String(error)}`);
          }
          return { result: undefined, before: scheduleView(schedule) };
        }),
      );
      return { json: { ran: true } };
    },
  },
  {
    method: "DELETE",
    path: "/api/agents/:class/:name/schedules/:id",
    write: true,
    handler: async (ctx) => {
      const address = agentAddress(ctx);
      const id = ctx.params.id!;
      await ctx.audited("schedule.cancel", `${address.label}#${id}`, {}, () =>
        inAgentBase(ctx, async ({ agent }) => {
          const tasks = tasksOf(agent);
          const before = tasks.getSchedule(id);
          if (!before || !(await tasks.cancelSchedule(id))) throw notFound(`${address.label} has no schedule ${JSON.stringify(id)}`);
          return { result: undefined, before: scheduleView(before) };
        }),
      );
      return { json: { cancelled: true } };
    },
  },
  {
    method: "GET",
    path: "/api/agents/:class/:name/queue",
    handler: async (ctx) => {
      const range = pageRange(ctx.query);
      return {
        json: await inAgentBase(ctx, ({ agent }) => {
          const page = pageOf(tasksOf(agent).getQueues(), range);
          return { items: page.items.map(queueView), next: page.next };
        }),
      };
    },
  },
  {
    method: "POST",
    path: "/api/agents/:class/:name/queue/:id/run",
    write: true,
    status: 202,
    handler: async (ctx) => {
      const address = agentAddress(ctx);
      const id = ctx.params.id!;
      await ctx.audited("queue.run", `${address.label}#${id}`, {}, () =>
        inAgentBase(ctx, ({ agent, actor }) => {
          tasksOf(agent); // 400 not_supported for an agent without schedules and a queue
          // Through the queue's own machinery (the host's dispatcher runs it), not a direct call: the
          // run counts as an attempt, is journaled, watched for hangs and reported as any other.
          const outcome = actor[HANDLE.tasks]().runQueuedNow(id);
          if (outcome === "missing") throw notFound(`${address.label} has no queued item ${JSON.stringify(id)}`);
          if (outcome === "running") {
            throw new ApiError(409, "queue_item_running", `${address.label} is running queued item ${JSON.stringify(id)} now: try again once this run has ended`);
          }
          return { result: undefined };
        }),
      );
      return { status: 202, json: { queued: "now" } };
    },
  },
  {
    method: "DELETE",
    path: "/api/agents/:class/:name/queue/:id",
    write: true,
    handler: async (ctx) => {
      const address = agentAddress(ctx);
      const id = ctx.params.id!;
      await ctx.audited("queue.delete", `${address.label}#${id}`, {}, () =>
        inAgentBase(ctx, async ({ agent }) => {
          if (!(await tasksOf(agent).dequeue(id))) throw notFound(`${address.label} has no queued item ${JSON.stringify(id)}`);
          return { result: undefined };
        }),
      );
      return { json: { deleted: true } };
    },
  },
];
