/**
 * What `useAgent` reports about its instance in a real browser (React, PartySocket and the page's
 * WebSocket), compared with the Agents SDK: the server's name for a `basePath` connection stays
 * through a reconnect, `room` is the instance name and follows the address, and the previous
 * address's state and identity never show under a new address.
 *
 * Needs Chromium at /usr/bin/chromium; without it the suite is skipped.
 */
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BrowserApp, browserSuite, clickTestId as click, hasChromium, testIdText as text } from "../support/browser.ts";
import { routeBySession } from "../client/helpers.ts";
import { Agent } from "../../src/index.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/address-app.tsx", import.meta.url));
/** Upper bound for every wait on the page (a reconnect waits up to 5 s before it starts). */
const WAIT = 15_000;

/** Reached through `/me?user=…`; `kick` ends its connections with a code that reconnects. */
class Desk extends Agent<unknown, { visits: number }> {
  static callables = ["kick"];
  override initialState = { visits: 0 };

  kick(): void {
    for (const connection of this.getConnections()) connection.close(1001, "going away");
  }
}

class Counter extends Agent<unknown, { count: number }> {
  override initialState = { count: 7 };
}

class Stateless extends Agent {}

const HTML = `<!doctype html>
<html>
  <head><meta charset="utf-8"><title>useAgent address</title></head>
  <body>
    <div id="root"></div>
    <script type="module" src="/app.js"></script>
  </body>
</html>`;

/** The fixture's log of renders. */
const renders = (page: Page): Promise<string[]> => page.evaluate(() => (window as unknown as { renders: string[] }).renders);

/** The renders after the `n`th "switch" (1-based). */
function afterSwitch(log: string[], n: number): string[] {
  let seen = 0;
  const index = log.findIndex((entry) => entry === "switch" && ++seen === n);
  expect(index).toBeGreaterThanOrEqual(0);
  return log.slice(index + 1).filter((entry) => entry !== "switch");
}

describe.skipIf(!hasChromium)(browserSuite("useAgent's instance across reconnects and address changes"), () => {
  const app = new BrowserApp();
  const { problems } = app;

  beforeAll(() =>
    app.start({
      tmpPrefix: "hearth-react-address-",
      entry: FIXTURE,
      html: HTML,
      agents: { Desk, Counter, Stateless },
      timeout: WAIT,
      route: routeBySession,
    }),
  );
  afterAll(() => app.close());

  test("with basePath, the name the server gave stays through a reconnect; only identified goes false", async () => {
    const page = await app.open("?view=routed");
    await expect.poll(text(page, "identified"), { timeout: WAIT }).toBe("true");
    expect(await text(page, "name")()).toBe("user-ada");

    await click(page, "kick");
    await expect.poll(text(page, "closes"), { timeout: WAIT }).not.toBe("0");
    await expect.poll(text(page, "identified"), { timeout: WAIT }).toBe("true");

    // From the first identification on, every render names the server's instance, never the
    // option's fallback ("default"), and the reconnect window shows it not identified.
    const log = await renders(page);
    const identified = log.indexOf("user-ada|true");
    expect(identified).toBeGreaterThanOrEqual(0);
    const since = log.slice(identified);
    expect(since.filter((entry) => !entry.startsWith("user-ada|"))).toEqual([]);
    expect(since).toContain("user-ada|false");
    await page.close();
    expect(problems).toEqual([]);
  });

  test("room is the top-level instance name, follows a change of name, and is undefined with basePath", async () => {
    const routed = await app.open("?view=routed");
    await expect.poll(text(routed, "identified"), { timeout: WAIT }).toBe("true");
    expect(await text(routed, "room")()).toBe("undefined");
    await routed.close();

    const page = await app.open();
    await expect.poll(text(page, "identified"), { timeout: WAIT }).toBe("true");
    expect(await text(page, "room")()).toBe("x");
    await click(page, "switch-name");
    await expect.poll(text(page, "room"), { timeout: WAIT }).toBe("y");
    await expect.poll(text(page, "identified"), { timeout: WAIT }).toBe("true");
    expect(await text(page, "name")()).toBe("y");
    // Every render after the change says "y".
    expect(afterSwitch(await renders(page), 1).filter((entry) => !entry.includes("|y|"))).toEqual([]);
    await page.close();
    expect(problems).toEqual([]);
  });

  test("a new address shows neither the previous instance's state nor its identity", async () => {
    const page = await app.open();
    await expect.poll(text(page, "identified"), { timeout: WAIT }).toBe("true");
    await expect.poll(text(page, "state"), { timeout: WAIT }).not.toBe("undefined");
    await click(page, "set-state");
    await expect.poll(text(page, "state"), { timeout: WAIT }).toBe('{"count":8}');

    // Another instance of the class: its own state, never x's.
    await click(page, "switch-name");
    await expect.poll(text(page, "name"), { timeout: WAIT }).toBe("y");
    await expect.poll(text(page, "identified"), { timeout: WAIT }).toBe("true");
    await expect.poll(text(page, "state"), { timeout: WAIT }).not.toBe("undefined");
    expect(await text(page, "state")()).not.toBe('{"count":8}');
    const toY = afterSwitch(await renders(page), 1);
    expect(toY.filter((entry) => entry.startsWith("counter/x") || entry.endsWith('{"count":8}'))).toEqual([]);

    // Another class, which has no state: undefined from the first render on, not y's state.
    await click(page, "switch-agent");
    await expect.poll(text(page, "agent"), { timeout: WAIT }).toBe("stateless");
    await expect.poll(text(page, "identified"), { timeout: WAIT }).toBe("true");
    expect(await text(page, "state")()).toBe("undefined");
    const toStateless = afterSwitch(await renders(page), 2);
    expect(toStateless.filter((entry) => entry.startsWith("counter/") || !entry.endsWith("|undefined"))).toEqual([]);
    await page.close();
    expect(problems).toEqual([]);
  });
});
