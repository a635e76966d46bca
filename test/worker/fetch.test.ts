/**
 * The worker's request path: the dev-only scheduled route, then static assets (misses fall through
 * to the worker), then the worker's fetch, or routeAgentRequest when the worker has none. The
 * worker's fetch runs with its ctx as the one `waitUntil` from cloudflare:workers reaches.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createAssetRouter, type AssetRouter } from "../../src/assets/index.ts";
import { waitUntil } from "../../src/compat/cloudflare-workers.ts";
import { CronTriggers, type ScheduledController } from "../../src/cron/index.ts";
import type { ExecutionContext, WorkerFetch } from "../../src/gateway/serve.ts";
import { Agent, Host } from "../../src/index.ts";
import { VirtualClock } from "../../src/time/clock.ts";
import { composeWorkerFetch } from "../../src/worker/fetch.ts";
import { useTempDirs } from "./helpers.ts";

const START = Date.parse("2030-01-01T00:00:00Z");
const newDir = useTempDirs();
const env = { APP: "demo" };
let clock: VirtualClock;
const closers: Array<() => unknown> = [];

beforeEach(() => {
  clock = new VirtualClock({ start: START });
});
afterEach(async () => {
  vi.restoreAllMocks();
  for (const close of closers.splice(0).reverse()) await close();
  clock.dispose();
});

function context(): ExecutionContext & { pending: Promise<unknown>[] } {
  const pending: Promise<unknown>[] = [];
  return { pending, waitUntil: (promise) => void pending.push(promise), passThroughOnException: () => {} };
}

const echo: WorkerFetch = (request, e) => new Response(`worker ${new URL(request.url).pathname} ${String(e.APP)}`);
const get = (path: string, init?: RequestInit) => new Request(`http://localhost${path}`, init);

function crons(fire: (controller: ScheduledController) => Promise<void>): CronTriggers {
  const triggers = new CronTriggers({ path: join(newDir(), "cron.sqlite"), clock, crons: ["0 * * * *"], fire });
  closers.push(() => triggers.close());
  return triggers;
}

describe("composeWorkerFetch", () => {
  it("runs the worker's fetch with its ctx as the one module-level waitUntil reaches", async () => {
    const background = Promise.resolve("logged later");
    const { fetch } = composeWorkerFetch({
      fetch: async (request, e, ctx) => {
        await Promise.resolve();
        waitUntil(background);
        return echo(request, e, ctx);
      },
      assets: () => undefined,
      cron: undefined,
    });
    const ctx = context();
    expect(await (await fetch(get("/hello"), env, ctx)).text()).toBe("worker /hello demo");
    expect(ctx.pending).toEqual([background]);
  });

  it("without a worker fetch, routes /agents/<class>/<name> to the agents and answers 404 elsewhere", async () => {
    class Greeter extends Agent {
      override onRequest(request: Request) {
        return new Response(`${this.name} got ${new URL(request.url).pathname}`);
      }
    }
    const host = new Host({ dataDir: newDir(), agents: { Greeter }, clock });
    closers.push(() => host.close());
    const { fetch } = composeWorkerFetch({ fetch: undefined, assets: () => undefined, cron: undefined });
    const routed = await fetch(get("/agents/greeter/ada/path"), host.env, context());
    expect(await routed.text()).toBe("ada got /agents/greeter/ada/path");
    const missing = await fetch(get("/elsewhere"), host.env, context());
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: "Not found: /elsewhere. Agents are served under /agents/<class>/<name>" });
  });

  it("serves assets first and hands misses to the worker", async () => {
    const directory = join(newDir(), "public");
    mkdirSync(directory);
    writeFileSync(join(directory, "style.css"), "body {}");
    const built: { router?: AssetRouter } = {};
    const composed = composeWorkerFetch({ fetch: echo, assets: () => built.router, cron: undefined });
    // Built after the worker path, as at start-up: the router hands its misses to that path.
    const opened = createAssetRouter(
      { directory, htmlHandling: "auto-trailing-slash", notFoundHandling: "none", runWorkerFirst: false },
      (request) => composed.worker(request, env, context()),
    );
    built.router = opened;
    closers.push(() => opened.close());
    expect(await (await composed.fetch(get("/style.css"), env, context())).text()).toBe("body {}");
    expect(await (await composed.fetch(get("/api/thing"), env, context())).text()).toBe("worker /api/thing demo");
  });

  describe("the dev-only scheduled route", () => {
    it("fires the cron trigger with ?cron= and ?time= on both paths, ahead of assets and the worker", async () => {
      const fired: Array<{ cron: string; scheduledTime: number }> = [];
      const triggers = crons(async (controller) => void fired.push({ cron: controller.cron, scheduledTime: controller.scheduledTime }));
      const { fetch } = composeWorkerFetch({ fetch: echo, assets: () => undefined, cron: () => triggers });
      const first = await fetch(get("/cdn-cgi/handler/scheduled?cron=*/5+*+*+*+*"), env, context());
      expect([first.status, await first.text()]).toEqual([200, "Ran scheduled event"]);
      const second = await fetch(get("/__scheduled?cron=0+*+*+*+*&time=1700000000000"), env, context());
      expect(await second.text()).toBe("Ran scheduled event");
      expect(fired).toEqual([
        { cron: "*/5 * * * *", scheduledTime: START },
        { cron: "0 * * * *", scheduledTime: 1_700_000_000_000 },
      ]);
      expect(await (await fetch(get("/cdn-cgi/handler/other"), env, context())).text()).toBe("worker /cdn-cgi/handler/other demo");
    });

    it("answers 500 with the handler's error, and 400 for a time that is not a number", async () => {
      vi.spyOn(console, "error").mockImplementation(() => {});
      const triggers = crons(() => Promise.reject(new Error("scheduled broke")));
      const { fetch } = composeWorkerFetch({ fetch: echo, assets: () => undefined, cron: () => triggers });
      const failed = await fetch(get("/__scheduled?cron=0+*+*+*+*"), env, context());
      expect([failed.status, await failed.text()]).toEqual([500, 'scheduled("0 * * * *") failed: scheduled broke']);
      const badTime = await fetch(get("/__scheduled?cron=0+*+*+*+*&time=soon"), env, context());
      expect([badTime.status, await badTime.text()]).toEqual([400, 'time must be the scheduled time in epoch milliseconds, got "soon"']);
    });

    it("answers 404 when the worker has no cron triggers", async () => {
      const { fetch } = composeWorkerFetch({ fetch: echo, assets: () => undefined, cron: () => undefined });
      const response = await fetch(get("/cdn-cgi/handler/scheduled"), env, context());
      expect([response.status, await response.text()]).toEqual([
        404,
        "This worker has no cron triggers with a scheduled() handler (triggers.crons in the wrangler config).",
      ]);
    });

    it("is the worker's own path outside hearth dev", async () => {
      const { fetch } = composeWorkerFetch({ fetch: echo, assets: () => undefined, cron: undefined });
      expect(await (await fetch(get("/cdn-cgi/handler/scheduled?cron=x"), env, context())).text()).toBe("worker /cdn-cgi/handler/scheduled demo");
    });
  });
});
