/**
 * `useAgent`'s connection options in a real browser (React, PartySocket and the page's WebSocket):
 * an async `query` re-run when `queryDeps` change, when `cacheTtl` runs out and on remount;
 * `ready`, `path`, `onIdentityChange` when the server routes the same URL to another instance,
 * and `connectionError` / `onConnectionError` after a terminal close code.
 *
 * Needs Chromium at /usr/bin/chromium; without it the suite is skipped.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { browserSuite, cleanUpInOrder, hasChromium, launchChromium, bundleForBrowser } from "../support/browser.ts";
import { Agent, getAgentByName, Host, routeAgentRequest, serve, type Connection, type ConnectionContext } from "../../src/index.ts";
import type { HearthServer } from "../../src/index.ts";
import type { AgentNamespace } from "../../src/host/namespace.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/options-app.tsx", import.meta.url));
/** Upper bound for every wait on the page. */
const WAIT = 10_000;

/** Greets each connection with the token it connected with. */
class Desk extends Agent<unknown, { visits: number }> {
  static callables = ["kick"];
  override initialState = { visits: 0 };

  override onConnect(connection: Connection, ctx: ConnectionContext): void {
    connection.send(JSON.stringify({ type: "hello", token: new URL(ctx.request.url).searchParams.get("token") }));
  }

  kick(code: number, reason: string): void {
    for (const connection of this.getConnections()) connection.close(code, reason);
  }
}

const HTML = `<!doctype html>
<html>
  <head><meta charset="utf-8"><title>useAgent options</title></head>
  <body>
    <p>query calls: <output data-testid="query-calls">0</output></p>
    <div id="root"></div>
    <script type="module" src="/app.js"></script>
  </body>
</html>`;


describe.skipIf(!hasChromium)(
  browserSuite("useAgent options in headless Chromium"),
  () => {
    let tmp: string | undefined;
    let host: Host | undefined;
    let server: HearthServer | undefined;
    let browser: Browser | undefined;
    let context: BrowserContext | undefined;
    const problems: string[] = [];

    beforeAll(async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hearth-browser-options-"));
      const js = await bundleForBrowser(FIXTURE);
      host = new Host({ dataDir: path.join(tmp, "data"), agents: { Desk } });
      server = await serve({
        host,
        port: 0,
        fetch: async (request, env) => {
          const url = new URL(request.url);
          // The worker picks the instance from the query: one URL, different agents (routing by session).
          if (url.pathname === "/me") {
            const desk = await getAgentByName(env.Desk as AgentNamespace<Desk>, `user-${url.searchParams.get("user")}`);
            return desk.fetch(request);
          }
          return (
            (await routeAgentRequest(request, env)) ??
            (url.pathname === "/"
              ? new Response(HTML, { headers: { "content-type": "text/html; charset=utf-8" } })
              : new Response(js, { headers: { "content-type": "text/javascript; charset=utf-8" } }))
          );
        },
      });
      browser = await launchChromium();
      context = await browser.newContext();
      context.setDefaultTimeout(WAIT);
    });

    afterAll(async () => {
      await cleanUpInOrder([
        () => context?.close(),
        () => browser?.close(),
        () => server?.close(),
        () => host?.close(),
        () => {
          if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true });
        },
      ]);
    });

    async function open(search = ""): Promise<Page> {
      if (context === undefined || server === undefined) throw new Error("setup did not finish");
      const page = await context.newPage();
      page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(`console.error: ${message.text()}`);
      });
      await page.goto(`${server.url}/${search}`);
      return page;
    }

    const text = (page: Page, id: string) => () => page.getByTestId(id).textContent();
    const click = async (page: Page, id: string) => {
      await page.bringToFront();
      await page.getByTestId(id).click();
    };

    test("queryDeps, remounts, ready, identity changes and terminal closes", async () => {
      const page = await open();
      await expect.poll(text(page, "ready"), { timeout: WAIT }).toBe("yes");
      expect(await text(page, "identified")()).toBe("true");
      expect(await text(page, "name")()).toBe("user-ada");
      expect(await text(page, "hello")()).toBe("ada-1");
      expect(await text(page, "query-calls")()).toBe("1");
      expect(JSON.parse((await text(page, "path")()) ?? "null")).toEqual([{ agent: "Desk", name: "default" }]);

      // New queryDeps: the query function runs again and the same URL reconnects with its result,
      // which the worker routes to another instance: an identity change.
      await click(page, "switch-user");
      await expect.poll(text(page, "hello"), { timeout: WAIT }).toBe("bob-2");
      await expect.poll(text(page, "name"), { timeout: WAIT }).toBe("user-bob");
      expect(await text(page, "change")()).toBe("user-ada→user-bob");
      expect(await text(page, "query-calls")()).toBe("2");
      await expect.poll(text(page, "ready"), { timeout: WAIT }).toBe("yes");

      // A remount calls the query function again; a new hook has no identity to compare with.
      await click(page, "toggle");
      await click(page, "toggle");
      await expect.poll(text(page, "hello"), { timeout: WAIT }).toBe("bob-3");
      expect(await text(page, "change")()).toBe("-");

      // A terminal close code: no reconnect, the error is on the hook and reported once.
      await click(page, "kick");
      await expect.poll(text(page, "error"), { timeout: WAIT }).toBe("4001");
      expect(await text(page, "reported")()).toBe("4001");
      expect(await text(page, "identified")()).toBe("false");
      await expect.poll(text(page, "ready"), { timeout: WAIT }).toBe("no");

      // New queryDeps bring a connection that ended for good back.
      await click(page, "switch-user");
      await expect.poll(text(page, "hello"), { timeout: WAIT }).toBe("ada-4");
      await expect.poll(text(page, "error"), { timeout: WAIT }).toBe("-");
      await expect.poll(text(page, "ready"), { timeout: WAIT }).toBe("yes");
      expect(problems).toEqual([]);
    });

    test("when cacheTtl runs out, the query runs again and a changed result reconnects", async () => {
      const page = await open("?ttl=1000");
      await expect.poll(text(page, "hello"), { timeout: WAIT }).toBe("ada-1");
      // Every second from now on a new token comes, and each one reconnects.
      const tokenNumber = async () => Number((await text(page, "hello")())?.split("-")[1]);
      await expect.poll(tokenNumber, { timeout: WAIT }).toBeGreaterThanOrEqual(2);
      expect(await text(page, "change")()).toBe("-");
      await page.close();
      expect(problems).toEqual([]);
    });
  },
);
