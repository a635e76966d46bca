/**
 * A single-page app served from an assets directory through a real Hearth server, in headless
 * Chromium: the client router moves to /settings/profile with history.pushState, and a reload of
 * that URL (a navigation no file answers) gets the SPA shell, whose script renders the route again.
 * The app's API call is no navigation: it goes to the worker. Skipped without /usr/bin/chromium.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAssetRouter, type AssetRouter } from "../../src/assets/index.ts";
import { Host, serve, type HearthServer } from "../../src/index.ts";
import { browserSuite, cleanUpInOrder, hasChromium, releaseChromium, sharedChromium } from "../support/browser.ts";

const WAIT = 10_000;

const INDEX_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>Hearth SPA</title><script type="module" src="/assets/app.js"></script></head>
<body><nav><a href="/settings/profile" data-testid="to-profile">Profile</a></nav>
<h1 data-testid="route">loading</h1><p data-testid="user">…</p></body></html>`;

const APP_JS = `
const titles = { "/": "Home", "/settings/profile": "Profile settings" };
function render() {
  document.querySelector("[data-testid=route]").textContent = titles[location.pathname] ?? "Not found: " + location.pathname;
}
document.querySelector("[data-testid=to-profile]").addEventListener("click", (event) => {
  event.preventDefault();
  history.pushState({}, "", "/settings/profile");
  render();
});
window.addEventListener("popstate", render);
render();
fetch("/api/me").then((r) => r.json()).then((me) => { document.querySelector("[data-testid=user]").textContent = me.name; });
`;

describe.skipIf(!hasChromium)(browserSuite("an SPA route served on reload, in headless Chromium"), () => {
  let tmp: string | undefined;
  let host: Host | undefined;
  let router: AssetRouter | undefined;
  let server: HearthServer | undefined;
  let browser: Browser | undefined;
  const workerSaw: string[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "hearth-assets-browser-"));
    const dist = join(tmp, "dist");
    mkdirSync(join(dist, "assets"), { recursive: true });
    writeFileSync(join(dist, "index.html"), INDEX_HTML);
    writeFileSync(join(dist, "assets", "app.js"), APP_JS);
    router = createAssetRouter(
      { directory: dist, htmlHandling: "auto-trailing-slash", notFoundHandling: "single-page-application", runWorkerFirst: false },
      async (request) => {
        const { pathname } = new URL(request.url);
        workerSaw.push(pathname);
        if (pathname === "/api/me") return Response.json({ name: "Ada" });
        return new Response("no such route", { status: 404 });
      },
    );
    host = new Host({ dataDir: join(tmp, "data"), agents: {} });
    const assets = router;
    server = await serve({ host, port: 0, fetch: (request) => assets.fetch(request) });
    browser = await sharedChromium();
  });

  afterAll(async () => {
    await cleanUpInOrder([
      () => releaseChromium(browser),
      () => server?.close(),
      () => router?.close(),
      () => host?.close(),
      () => {
        if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
      },
    ]);
  });

  it("renders /settings/profile after a client-side navigation and again after a reload", async () => {
    if (browser === undefined || server === undefined) throw new Error("setup did not finish");
    const page = await browser.newPage();
    page.setDefaultTimeout(WAIT);
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
    const documents: string[] = [];
    page.on("request", (request) => {
      if (request.resourceType() === "document") documents.push(new URL(request.url()).pathname);
    });
    const route = () => page.getByTestId("route").textContent();

    await page.goto(`${server.url}/`);
    await expect.poll(route, { timeout: WAIT }).toBe("Home");
    await expect.poll(() => page.getByTestId("user").textContent(), { timeout: WAIT }).toBe("Ada");

    await page.getByTestId("to-profile").click();
    await expect.poll(route, { timeout: WAIT }).toBe("Profile settings");
    expect(new URL(page.url()).pathname).toBe("/settings/profile");
    expect(documents).toEqual(["/"]); // pushState: no page load

    const reload = await page.reload();
    expect(reload?.status()).toBe(200);
    expect(reload?.headers()["content-type"]).toBe("text/html; charset=utf-8");
    await expect.poll(route, { timeout: WAIT }).toBe("Profile settings");
    await expect.poll(() => page.getByTestId("user").textContent(), { timeout: WAIT }).toBe("Ada");
    expect(documents).toEqual(["/", "/settings/profile"]);

    // The navigations and the script were the assets'; the worker saw the API calls (and the
    // browser's own favicon request, also no navigation).
    expect(workerSaw.filter((path) => path !== "/favicon.ico")).toEqual(["/api/me", "/api/me"]);
    // A script that is not there is no navigation: the worker answers it, not the shell.
    const missing = await page.evaluate(async () => {
      const response = await fetch("/assets/missing.js");
      return [response.status, await response.text()];
    });
    expect(missing).toEqual([404, "no such route"]);
    expect(problems).toEqual([]);
    await page.close();
  });
});
