/**
 * The handlers of a worker's default export: a plain object, a function carrying handlers, or a
 * class extending WorkerEntrypoint (one instance per event, built with ctx and env).
 */
import { describe, expect, it } from "vitest";
import { WorkerEntrypoint } from "../../src/compat/cloudflare-workers.ts";
import type { ExecutionContext } from "../../src/gateway/serve.ts";
import { workerHandlers } from "../../src/worker/handlers.ts";

const ctx = (): ExecutionContext => ({ waitUntil: () => {}, passThroughOnException: () => {} });
const env = { APP_NAME: "demo" };
const request = () => new Request("http://localhost/hello");

describe("workerHandlers", () => {
  it("takes the handlers of an object, called with the object as this", async () => {
    const worker = {
      greeting: "hi",
      fetch(this: { greeting: string }, req: Request, e: Record<string, unknown>) {
        return new Response(`${this.greeting} ${new URL(req.url).pathname} ${String(e.APP_NAME)}`);
      },
      scheduled(this: { greeting: string }, controller: { cron: string }) {
        return `${this.greeting} ${controller.cron}`;
      },
      queue(this: { greeting: string }, batch: { queue: string }) {
        return `${this.greeting} ${batch.queue}`;
      },
      notAHandler() {},
    };
    const handlers = workerHandlers(worker)!;
    expect(Object.keys(handlers).sort()).toEqual(["fetch", "queue", "scheduled"]);
    expect(await (await handlers.fetch!(request(), env, ctx())).text()).toBe("hi /hello demo");
    expect(handlers.scheduled!({ cron: "* * * * *" } as never, env, ctx())).toBe("hi * * * * *");
    expect(handlers.queue!({ queue: "jobs" } as never, env, ctx())).toBe("hi jobs");
  });

  it("takes the handlers a function carries, and its MCP endpoint", async () => {
    const handler = Object.assign(() => new Response("called as a function"), {
      fetch: () => new Response("fetch"),
      endpoint: { path: "/mcp", transport: "streamable-http" },
    });
    const handlers = workerHandlers(handler)!;
    expect(await (await handlers.fetch!(request(), env, ctx())).text()).toBe("fetch");
    expect(handlers.mcp).toEqual({ path: "/mcp", transport: "streamable-http" });
  });

  it("has nothing for values without handlers", () => {
    for (const value of [undefined, null, 42, "fetch", {}, { fetch: "not a function" }, () => new Response("bare")]) {
      expect(workerHandlers(value)).toBeUndefined();
    }
  });

  it("builds a new WorkerEntrypoint instance per event, with this.ctx and this.env set", async () => {
    const seen: Array<{ instance: unknown; ctx: unknown; env: unknown }> = [];
    class Worker extends WorkerEntrypoint<{ APP_NAME: string }> {
      count = 0;
      async fetch(req: Request) {
        this.count++;
        seen.push({ instance: this, ctx: this.ctx, env: this.env });
        return new Response(`${this.env.APP_NAME} ${new URL(req.url).pathname} ${this.count}`);
      }
      async queue(batch: { queue: string }) {
        seen.push({ instance: this, ctx: this.ctx, env: this.env });
        return batch.queue;
      }
    }
    const handlers = workerHandlers(Worker)!;
    expect(Object.keys(handlers).sort()).toEqual(["fetch", "queue"]);
    const first = ctx();
    const second = ctx();
    expect(await (await handlers.fetch!(request(), env, first)).text()).toBe("demo /hello 1");
    expect(await (await handlers.fetch!(request(), env, second)).text()).toBe("demo /hello 1"); // a fresh instance
    expect(await handlers.queue!({ queue: "jobs" } as never, env, first)).toBe("jobs");
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s.instance)).size).toBe(3);
    expect(seen.map((s) => s.ctx)).toEqual([first, second, first]);
    expect(seen.every((s) => s.env === env)).toBe(true);
  });

  it("finds handlers a WorkerEntrypoint subclass inherits", async () => {
    class Base extends WorkerEntrypoint {
      scheduled() {
        return "inherited";
      }
    }
    class Worker extends Base {}
    expect(await workerHandlers(Worker)!.scheduled!({} as never, env, ctx())).toBe("inherited");
  });

  it("has nothing for a WorkerEntrypoint class without handlers", () => {
    class Empty extends WorkerEntrypoint {
      helper() {}
    }
    expect(workerHandlers(Empty)).toBeUndefined();
  });
});
