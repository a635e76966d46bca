/**
 * `hearth/react`'s `useAgent` in a real browser: a React page bundled with
 * esbuild, served by a Hearth server on loopback, opened in headless Chromium.
 * Calls, state sync, a reload, a call made as the page mounts (Strict Mode
 * too) and a change of instance.
 *
 * Needs Chromium at /usr/bin/chromium (Debian: `apt-get install chromium`);
 * without it the suite is skipped.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BrowserApp, browserSuite, clickTestId as click, hasChromium, testIdText as text } from "../support/browser.ts";
import { Agent } from "../../src/index.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/app.tsx", import.meta.url));
/** Upper bound for every wait on the page. */
const WAIT = 10_000;
/** The count the fixture's "set state" button sends. */
const CLIENT_COUNT = 42;
/** Needs encoding in the WebSocket URL path: a slash, a space and a non-ASCII letter. */
const INSTANCE = "lobby/β 1";

class Counter extends Agent<unknown, { count: number }> {
  static callables = ["increment", "whoami"];
  override initialState = { count: 0 };

  increment(by: number): number {
    this.setState({ count: this.state.count + by });
    return this.state.count;
  }

  whoami(): string {
    return this.name;
  }

  /** Server-side read for the test; not callable from clients. */
  read(): number {
    return this.state.count;
  }
}

const HTML = `<!doctype html>
<html>
  <head><meta charset="utf-8"><title>useAgent</title></head>
  <body>
    <p>calls on mount: <output data-testid="mount-calls"></output>; calls once identified: <output data-testid="identified-calls"></output></p>
    <p>renders (name:identified): <output data-testid="renders"></output></p>
    <div id="root"></div>
    <script type="module" src="/app.js"></script>
  </body>
</html>`;


describe.skipIf(!hasChromium)(
  browserSuite("useAgent in headless Chromium"),
  () => {
    const app = new BrowserApp();
    const { problems } = app;

    beforeAll(() =>
      app.start({ tmpPrefix: "hearth-browser-", entry: FIXTURE, html: HTML, agents: { Counter }, timeout: WAIT }),
    );
    afterAll(() => app.close());

    const open = (): Promise<Page> => app.open(`?name=${encodeURIComponent(INSTANCE)}`);

    async function connected(page: Page, count: number): Promise<void> {
      await expect.poll(text(page, "identified"), { timeout: WAIT }).toBe("true");
      await expect.poll(text(page, "count"), { timeout: WAIT }).toBe(String(count));
      expect(await text(page, "identity")()).toBe(`counter/${INSTANCE}`);
      expect(await text(page, "hook-state")()).toBe(String(count));
    }

    test("syncs calls and state between two pages and keeps it across a reload", async () => {
      const first = await open();
      const second = await open();
      await connected(first, 0);
      await connected(second, 0);

      // An RPC call from page 1: the result comes back to page 1, the new state reaches both pages.
      await click(first, "increment");
      await expect.poll(text(first, "result"), { timeout: WAIT }).toBe("ok:1");
      await expect.poll(text(first, "count"), { timeout: WAIT }).toBe("1");
      await expect.poll(text(second, "count"), { timeout: WAIT }).toBe("1");
      expect(await text(second, "source")()).toBe("server");
      expect(await text(second, "hook-state")()).toBe("1");

      // A client-side setState from page 2: applied locally at once, broadcast to page 1 by the agent.
      await click(second, "set-state");
      await expect.poll(text(second, "count"), { timeout: WAIT }).toBe(String(CLIENT_COUNT));
      expect(await text(second, "source")()).toBe("client");
      await expect.poll(text(first, "count"), { timeout: WAIT }).toBe(String(CLIENT_COUNT));
      expect(await text(first, "source")()).toBe("server");
      await expect.poll(text(first, "hook-state"), { timeout: WAIT }).toBe(String(CLIENT_COUNT));

      // Hibernate the agent (its memory is dropped, the sockets stay), then reload: the page
      // starts from the state the agent reads back from its database.
      expect(app.host?.hibernateIdleAgents()).toBeGreaterThanOrEqual(1);
      await first.reload();
      await connected(first, CLIENT_COUNT);

      // The typed stub on the reloaded page goes through the new socket.
      await click(first, "increment-stub");
      await expect.poll(text(first, "result"), { timeout: WAIT }).toBe(`ok:${CLIENT_COUNT + 1}`);
      await expect.poll(text(second, "count"), { timeout: WAIT }).toBe(String(CLIENT_COUNT + 1));

      // The agent itself, read on the server, agrees with what the pages show.
      expect(await app.host?.invoke("Counter", INSTANCE, "read", [])).toBe(CLIENT_COUNT + 1);

      expect(problems).toEqual([]);
    });

    test("a call made as the page mounts goes out once the socket opens, in Strict Mode too", async () => {
      const plain = await app.open("?name=mount-plain");
      await expect.poll(text(plain, "mount-calls"), { timeout: WAIT }).toBe("ok:mount-plain");
      // Strict Mode runs the mount effects twice, with a rehearsed unmount in between: both calls are answered.
      const strict = await app.open("?name=mount-strict&strict");
      await expect.poll(text(strict, "mount-calls"), { timeout: WAIT }).toBe("ok:mount-strict,ok:mount-strict");
      expect(problems).toEqual([]);
    });

    test("after a change of instance, the hook says it is identified only once the new instance is", async () => {
      const page = await app.open("?name=switch-a&strict");
      await expect.poll(text(page, "identified-calls"), { timeout: WAIT }).toBe("switch-a→switch-a");
      const before = ((await text(page, "renders")()) ?? "").split(",").length;
      await click(page, "switch");
      await expect.poll(text(page, "identity"), { timeout: WAIT }).toBe("counter/switch-a-next");
      await expect.poll(async () => (await text(page, "identified-calls")())?.endsWith("switch-a-next→switch-a-next"), { timeout: WAIT }).toBe(true);
      await expect.poll(text(page, "identified"), { timeout: WAIT }).toBe("true");
      // No render after the switch shows the old instance as the one connected, nor the new one
      // as identified before it is: the effect waiting for `identified` ran once, on the new instance.
      const after = ((await text(page, "renders")()) ?? "").split(",").slice(before);
      expect(after.filter((render) => render.endsWith(":true") && render !== "switch-a-next:true")).toEqual([]);
      expect(after).toContain("switch-a-next:false");
      expect(await text(page, "identified-calls")()).toBe("switch-a→switch-a,switch-a-next→switch-a-next");
      expect(problems).toEqual([]);
    });

    test("renders a screenshot", async () => {
      const tmp = app.tmp;
      if (tmp === undefined) throw new Error("setup did not finish");
      const page = await open();
      await expect.poll(text(page, "identified"), { timeout: WAIT }).toBe("true");
      await expect.poll(text(page, "count"), { timeout: WAIT }).not.toBe("-");
      const file = path.join(tmp, "use-agent.png");
      await page.screenshot({ path: file });
      const png = fs.readFileSync(file);
      expect(png.length).toBeGreaterThan(100);
      expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
      expect(problems).toEqual([]);
    });
  },
);
