import type { AssetRouter } from "../assets/index.ts";
import type { CronTriggers } from "../cron/index.ts";
import { agentsOnlyFetch, NOT_A_RESPONSE, type ExecutionContext, type WorkerFetch } from "../gateway/serve.ts";
import { runWithContext } from "./execution-context.ts";

/** The paths that fire a cron trigger by hand in `hearth dev`, as `wrangler dev` offers them. */
export const SCHEDULED_PATHS = ["/cdn-cgi/handler/scheduled", "/__scheduled"] as const;

export interface WorkerFetchOptions {
  /** The default export's fetch; without one, requests reach the agents through routeAgentRequest. */
  fetch: WorkerFetch | undefined;
  /** Filled in once the assets exist (they are built before the host, the host before this). */
  assets: () => AssetRouter | undefined;
  /** Set under `hearth dev`: `GET /cdn-cgi/handler/scheduled?cron=…` fires that trigger. */
  cron: (() => CronTriggers | undefined) | undefined;
}

/**
 * The worker's request path: the dev-only scheduled route, then static assets (which hand misses and
 * `run_worker_first` paths to the worker), then the worker's own fetch.
 */
export function composeWorkerFetch(options: WorkerFetchOptions): { fetch: WorkerFetch; worker: (request: Request, env: Record<string, unknown>, ctx: ExecutionContext) => Promise<Response> } {
  const inner = options.fetch ?? agentsOnlyFetch;
  // A handler that gives anything else than a Response fails its request, as on workerd (with its message).
  const worker = async (request: Request, env: Record<string, unknown>, ctx: ExecutionContext): Promise<Response> => {
    const response: unknown = await runWithContext(ctx, () => inner(request, env, ctx));
    if (!(response instanceof Response)) throw new TypeError(NOT_A_RESPONSE);
    return response;
  };
  const fetch: WorkerFetch = async (request, env, ctx) => {
    if (options.cron !== undefined) {
      const scheduled = await fireScheduled(request, options.cron());
      if (scheduled) return scheduled;
    }
    const assets = options.assets();
    if (assets) return assets.fetch(request);
    return worker(request, env, ctx);
  };
  return { fetch, worker };
}

async function fireScheduled(request: Request, cron: CronTriggers | undefined): Promise<Response | undefined> {
  const url = new URL(request.url);
  if (!(SCHEDULED_PATHS as readonly string[]).includes(url.pathname)) return undefined;
  if (cron === undefined) {
    return new Response("This worker has no cron triggers with a scheduled() handler (triggers.crons in the wrangler config).", { status: 404 });
  }
  const expression = url.searchParams.get("cron") ?? "";
  const time = url.searchParams.get("time");
  const scheduledTime = time === null || time === "" ? undefined : Number(time);
  if (scheduledTime !== undefined && !Number.isFinite(scheduledTime)) {
    return new Response(`time must be the scheduled time in epoch milliseconds, got ${JSON.stringify(time)}`, { status: 400 });
  }
  try {
    await cron.fireNow(expression, scheduledTime);
  } catch (error) {
    return new Response(`scheduled(${JSON.stringify(expression)}) failed: ${(error as Error).message}`, { status: 500 });
  }
  return new Response("Ran scheduled event");
}

