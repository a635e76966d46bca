import { afterEach, describe, expect, it } from "vitest";
import { Sites, echoWorker } from "./fixture.ts";

const sites = new Sites();
afterEach(() => sites.cleanup());

const SPA = { "index.html": "SHELL", "app.js": "JS", "about.html": "ABOUT" };

describe("env.ASSETS.fetch", () => {
  it("takes a Request, an absolute URL string or a URL, and answers from the assets", async () => {
    const router = sites.router(SPA);
    const { binding } = router;
    expect(await (await binding.fetch(new Request("http://example.com/app.js"))).text()).toBe("JS");
    expect(await (await binding.fetch("https://my.site/about")).text()).toBe("ABOUT");
    expect(await (await binding.fetch(new URL("http://x/"))).text()).toBe("SHELL");
    const head = await binding.fetch("http://x/app.js", { method: "HEAD" });
    expect([head.status, head.body]).toEqual([200, null]);
  });

  it("refuses a relative URL, as a service binding does", async () => {
    const router = sites.router(SPA);
    await expect(router.binding.fetch("/app.js")).rejects.toThrow(TypeError);
  });

  it("never calls the worker, and applies not_found_handling to every miss", async () => {
    const worker = echoWorker();
    const router = sites.router(SPA, { notFoundHandling: "single-page-application", runWorkerFirst: true }, worker.fetch);
    const miss = await router.binding.fetch("http://x/settings/profile");
    expect([miss.status, await miss.text()]).toEqual([200, "SHELL"]);
    const plain = sites.router(SPA, {}, worker.fetch);
    expect((await plain.binding.fetch("http://x/settings")).status).toBe(404);
    expect(worker.calls).toEqual([]);
  });

  it("keeps the request's conditional headers: a worker can forward If-None-Match", async () => {
    const router = sites.router(SPA);
    const first = await router.binding.fetch("http://x/app.js");
    const again = await router.binding.fetch(new Request("http://x/app.js", { headers: { "If-None-Match": first.headers.get("etag")! } }));
    expect(again.status).toBe(304);
  });

  it("rejects once the router is closed", async () => {
    const router = sites.router(SPA);
    router.close();
    await expect(router.binding.fetch("http://x/app.js")).rejects.toThrow(/closed/);
  });
});
