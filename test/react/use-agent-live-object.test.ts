/**
 * The object `useAgent` returns is live, as in the Agents SDK: `agent.state` holds the server's
 * state as soon as `ready` resolves and the new state right after `agent.setState`, and
 * `agent.identified` is false as soon as the socket closed — without waiting for a re-render.
 *
 * Needs Chromium at /usr/bin/chromium; without it the suite is skipped.
 */
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BrowserApp, browserSuite, clickTestId as click, hasChromium } from "../support/browser.ts";
import { Agent } from "../../src/index.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/live-object-app.tsx", import.meta.url));
const WAIT = 15_000;

class Tally extends Agent<unknown, { count: number }> {
  static callables = ["kick"];
  override initialState = { count: 7 };

  kick(): void {
    for (const connection of this.getConnections()) connection.close(1001, "going away");
  }
}

const HTML = `<!doctype html>
<html>
  <head><meta charset="utf-8"><title>useAgent live object</title></head>
  <body>
    <div id="root"></div>
    <script type="module" src="/app.js"></script>
  </body>
</html>`;

const seen = (page: Page): Promise<Record<string, string>> => page.evaluate(() => (window as unknown as { seen: Record<string, string> }).seen);

describe.skipIf(!hasChromium)(browserSuite("useAgent's returned object between renders"), () => {
  const app = new BrowserApp();
  const { problems } = app;

  beforeAll(() => app.start({ tmpPrefix: "hearth-react-live-", entry: FIXTURE, html: HTML, agents: { Tally }, timeout: WAIT }));
  afterAll(() => app.close());

  test("state is there when ready resolves and right after setState; identified is false in onClose", async () => {
    const page = await app.open();
    await expect.poll(async () => (await seen(page)).done, { timeout: WAIT }).toBe("true");
    const before = await seen(page);
    expect(before.stateAfterReady).toBe('{"count":7}');
    expect(before.stateAfterSetState).toBe('{"count":42}');

    await click(page, "kick");
    await expect.poll(async () => (await seen(page)).identifiedInOnClose, { timeout: WAIT }).toBe("false");
    await page.close();
    expect(problems).toEqual([]);
  });
});
