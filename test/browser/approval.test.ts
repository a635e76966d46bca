/**
 * The approval example's page in a real browser: a Hearth server on loopback serves
 * examples/approval's fetch (page + agents); headless Chromium starts an outreach, waits for the
 * draft, approves it and sees it sent.
 *
 * The example imports the built package ("hearth", i.e. dist/), so Host and serve come from there
 * too: `npm run build` first. Needs Chromium at /usr/bin/chromium (Debian: `apt-get install
 * chromium`); without it the suite is skipped. The screenshots it takes are left at
 * $TMPDIR/hearth-approval-{waiting,sent}.png for a look at the page.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { browserSuite, cleanUpInOrder, hasChromium, releaseChromium, sharedChromium } from "../support/browser.ts";
import { Host, serve, type HearthServer } from "hearth";
import app, { Desk, Outreach, type OutreachItem } from "../../examples/approval/src/index.ts";

/** Upper bound for every wait on the page. */
const WAIT = 10_000;
const DESK = "browser";
/** Screenshots of the page, kept for a look (not cleaned up, overwritten on every run). */
const screenshot = (state: string) => path.join(os.tmpdir(), `hearth-approval-${state}.png`);

describe.skipIf(!hasChromium)(
  browserSuite("the approval example in headless Chromium"),
  () => {
    let tmp: string | undefined;
    let host: Host | undefined;
    let server: HearthServer | undefined;
    let browser: Browser | undefined;
    const problems: string[] = [];

    beforeAll(async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hearth-approval-"));
      // A short pause in the research and draft steps: progress frames arrive one by one, as in a demo.
      host = new Host({ dataDir: path.join(tmp, "data"), agents: { Desk }, workflows: { Outreach }, vars: { DEMO_DELAY_MS: "100" } });
      server = await serve({ host, port: 0, fetch: app.fetch });
      browser = await sharedChromium();
    });

    afterAll(async () => {
      await cleanUpInOrder([
        () => releaseChromium(browser),
        () => server?.close(),
        () => host?.close(),
        () => {
          if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true });
        },
      ]);
    });

    async function open(): Promise<{ page: Page; progress: string[] }> {
      if (browser === undefined || server === undefined) throw new Error("setup did not finish");
      const page = await browser.newPage();
      page.setDefaultTimeout(WAIT);
      page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(`console.error: ${message.text()}`);
      });
      // The workflow_progress frames the page receives, in order.
      const progress: string[] = [];
      page.on("websocket", (socket) =>
        socket.on("framereceived", ({ payload }) => {
          const frame = JSON.parse(String(payload)) as { type: string; progress?: { step: string } };
          if (frame.type === "workflow_progress") progress.push(frame.progress!.step);
        }),
      );
      await page.goto(`${server.url}/?desk=${DESK}`);
      return { page, progress };
    }

    const list = (): Promise<OutreachItem[]> => host!.invoke("Desk", DESK, "list", []) as Promise<OutreachItem[]>;

    test("starts an outreach, shows its draft, approves it and shows it sent", async () => {
      const { page, progress } = await open();
      await expect.poll(() => page.locator("#empty").isVisible(), { timeout: WAIT }).toBe(true);

      await page.locator("#prospect").fill("Ada Lovelace");
      await page.locator("#start").click();

      const card = page.locator("article").filter({ hasText: "Ada Lovelace" });
      await card.locator(".draft").waitFor();
      expect(await card.getAttribute("data-phase")).toBe("awaiting approval");
      expect(await card.locator(".draft").textContent()).toMatch(/^To: ada@[a-z-]+\.example\nSubject: .+\n\nHi Ada,/);
      expect(await card.locator(".progress").textContent()).toBe("Waiting for approval (up to 7 days)");
      const [waiting] = await list();
      expect(waiting).toMatchObject({ prospect: "Ada Lovelace", status: "waiting", phase: "awaiting approval" });
      expect(await card.getAttribute("data-id")).toBe(waiting!.id);
      await page.screenshot({ path: screenshot("waiting"), fullPage: true });

      await card.getByRole("button", { name: "Approve & send" }).click();
      await expect.poll(() => card.getAttribute("data-phase"), { timeout: WAIT }).toBe("sent");
      expect(await card.locator(".outcome").textContent()).toMatch(/^Sent /);
      expect(await card.locator(".progress").textContent()).toMatch(/^Sent to ada@/);
      expect(await card.getByRole("button").count()).toBe(0);
      expect(await list()).toMatchObject([{ id: waiting!.id, status: "complete", phase: "sent", decision: "approved" }]);
      expect(progress).toEqual(["research", "draft", "approval", "send", "sent"]);

      // A page opened afterwards shows the same, read back from the desk.
      const { page: later } = await open();
      await expect.poll(() => later.locator(`article[data-id="${waiting!.id}"]`).getAttribute("data-phase"), { timeout: WAIT }).toBe("sent");

      await page.screenshot({ path: screenshot("sent"), fullPage: true });
      const png = fs.readFileSync(screenshot("sent"));
      expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
      expect(problems).toEqual([]);
    });
  },
);
