import { afterEach, describe, expect, it } from "vitest";
import { AssetsConfigError } from "../../src/assets/index.ts";
import { Sites, echoWorker, get, navigate } from "./fixture.ts";

const sites = new Sites();
afterEach(() => sites.cleanup());

const SITE = {
  "index.html": "HOME",
  "logo.png": "PNG",
  "api/docs/index.html": "API DOCS",
  "admin/panel.html": "PANEL",
};

describe("run_worker_first", () => {
  it("false: assets answer what they have, the worker the rest", async () => {
    const worker = echoWorker();
    const router = sites.router(SITE, { runWorkerFirst: false }, worker.fetch);
    expect(await (await get(router, "/logo.png")).text()).toBe("PNG");
    expect(await (await get(router, "/")).text()).toBe("HOME");
    expect(await (await get(router, "/api/users")).text()).toBe("worker:/api/users");
    expect(worker.calls).toEqual(["/api/users"]);
  });

  it("true: the worker sees every request, existing assets included, and reaches them through env.ASSETS", async () => {
    const seen: string[] = [];
    const env: { ASSETS?: { fetch(request: Request): Promise<Response> } } = {};
    const router = sites.router(SITE, { runWorkerFirst: true }, async (request) => {
      seen.push(new URL(request.url).pathname);
      const response = await env.ASSETS!.fetch(request);
      const headers = new Headers(response.headers);
      headers.set("X-Checked", "yes");
      return new Response(response.body, { status: response.status, headers });
    });
    env.ASSETS = router.binding;
    const logo = await get(router, "/logo.png");
    expect(await logo.text()).toBe("PNG");
    expect(logo.headers.get("x-checked")).toBe("yes");
    expect((await get(router, "/nothing")).status).toBe(404);
    expect(seen).toEqual(["/logo.png", "/nothing"]);
  });

  it("patterns: matching paths go to the worker, ! patterns to the assets, whatever their order", async () => {
    const worker = echoWorker();
    const router = sites.router(SITE, { runWorkerFirst: ["!/api/docs/*", "/api/*", "/admin/*"] }, worker.fetch);
    expect(await (await get(router, "/api/users")).text()).toBe("worker:/api/users");
    expect(await (await get(router, "/api/v1/users/7/posts")).text()).toBe("worker:/api/v1/users/7/posts"); // * crosses "/"
    expect(await (await get(router, "/admin/panel")).text()).toBe("worker:/admin/panel"); // even though the asset exists
    expect(await (await get(router, "/api/docs/")).text()).toBe("API DOCS");
    expect(await (await get(router, "/logo.png")).text()).toBe("PNG");
    // "/api/*" needs the slash: "/api" alone falls to the usual order (no asset, so the worker).
    expect(await (await get(router, "/api")).text()).toBe("worker:/api");
  });

  it("patterns: a path a ! pattern gives the assets never reaches the worker, even when missing", async () => {
    const worker = echoWorker();
    const router = sites.router(SITE, { runWorkerFirst: ["/api/*", "!/api/docs/*"] }, worker.fetch);
    expect((await get(router, "/api/docs/missing")).status).toBe(404);
    expect(worker.calls).toEqual([]);
  });

  it("patterns with an SPA: every other miss gets the shell, navigation or not (the routes decide, not Sec-Fetch-Mode)", async () => {
    const worker = echoWorker();
    const router = sites.router(SITE, { runWorkerFirst: ["/api/*"], notFoundHandling: "single-page-application" }, worker.fetch);
    expect(await (await get(router, "/settings/profile")).text()).toBe("HOME");
    expect(await (await navigate(router, "/settings/profile")).text()).toBe("HOME");
    expect(await (await get(router, "/api/me")).text()).toBe("worker:/api/me");
  });

  it("without a worker: the assets answer everything", async () => {
    const router = sites.router(SITE, { runWorkerFirst: true });
    expect(await (await get(router, "/logo.png")).text()).toBe("PNG");
    expect((await get(router, "/api/x")).status).toBe(404);
  });

  it("refuses invalid rules at start with every problem named", () => {
    const cases: Array<[string[], string]> = [
      [[], "assets.run_worker_first is an empty list; give at least one rule, or true / false"],
      [["!/assets/*"], "assets.run_worker_first has only negated (!) rules; give at least one rule without !"],
      [["api/*", "!assets"], 'assets.run_worker_first has invalid rules:\n"api/*": a rule must start with "/" or "!/"\n"!assets": a negated rule must start with "!/"'],
      [["/a", "/a"], 'assets.run_worker_first has invalid rules:\n"/a": a duplicate'],
      [["/api/*", "/api/users"], 'assets.run_worker_first has invalid rules:\n"/api/users": redundant, "/api/*" already covers it'],
      [[`/${"x".repeat(100)}`], `assets.run_worker_first has invalid rules:\n"/${"x".repeat(100)}": longer than 100 characters`],
      [Array.from({ length: 101 }, (_, i) => `/r${i}`), "assets.run_worker_first has 101 rules; at most 100 are allowed"],
    ];
    const { site } = sites.make(SITE);
    for (const [rules, message] of cases) {
      const attempt = () => sites.routerAt(site, { runWorkerFirst: rules });
      expect(attempt, message).toThrow(AssetsConfigError);
      expect(attempt).toThrow(message);
    }
    expect(() => sites.routerAt(site, { runWorkerFirst: Array.from({ length: 100 }, (_, i) => `/r${i}`) })).not.toThrow();
  });
});
