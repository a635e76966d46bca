/**
 * `useAgent`'s connection options in a real browser (React, PartySocket and the page's WebSocket):
 * an async `query` re-run when `queryDeps` change, when `cacheTtl` runs out and on remount;
 * `ready`, `path`, `onIdentityChange` when the server routes the same URL to another instance,
 * and `connectionError` / `onConnectionError` after a terminal close code.
 *
 * Needs Chromium at /usr/bin/chromium; without it the suite is skipped.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BrowserApp, browserSuite, clickTestId as click, hasChromium, testIdText as text } from "../support/browser.ts";
import { routeBySession } from "../client/helpers.ts";
import { Agent, type Connection, type ConnectionContext } from "../../src/index.ts";

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
    const app = new BrowserApp();
    const { problems } = app;

    beforeAll(() =>
      app.start({
        tmpPrefix: "hearth-browser-options-",
        entry: FIXTURE,
        html: HTML,
        agents: { Desk },
        timeout: WAIT,
        // The worker picks the instance from the query: one URL, different agents (routing by session).
        route: routeBySession,
      }),
    );
    afterAll(() => app.close());

    test("queryDeps, remounts, ready, identity changes and terminal closes", async () => {
      const page = await app.open();
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
      const page = await app.open("?ttl=1000");
      // Every second a new token comes, and each one reconnects (on a loaded machine the first
      // connection may already be past its first token when it is read).
      const tokenNumber = async () => Number((await text(page, "hello")())?.split("-")[1]);
      await expect.poll(tokenNumber, { timeout: WAIT }).toBeGreaterThanOrEqual(1);
      const first = await tokenNumber();
      await expect.poll(tokenNumber, { timeout: WAIT }).toBeGreaterThan(first);
      expect(await text(page, "change")()).toBe("-");
      await page.close();
      expect(problems).toEqual([]);
    });
  },
);
