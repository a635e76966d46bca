/**
 * The support-team example in headless Chromium: `hearth dev` runs the example (a child process, on the
 * offline demo model) and the page asks the user's Desk questions, shows each run's events as they
 * arrive over the Desk's WebSocket (the route decision, the fallback, the retry, the approval), lets a
 * person approve a refund, shows the answer and the D1 execution log, and after a reload lists the
 * runs again and replays the selected one.
 *
 * The example imports the built package (dist/): `npm run build` first. Needs Chromium at
 * /usr/bin/chromium; without it the suite is skipped. Screenshots go to test/browser/artifacts/.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cleanup, requireBuild } from "../cli/helpers.ts";
import { browserSuite, cleanUpInOrder, hasChromium, releaseChromium, sharedChromium } from "../support/browser.ts";
import { buildClientBundle, CLIENT_BUNDLE } from "../../examples/support-team/build-client.ts";
import { awayFromWindowEdge, startExample } from "../../examples/support-team/harness.ts";

/** Upper bound for every wait on a page. */
const WAIT = 10_000;
const ARTIFACTS = fileURLToPath(new URL("./artifacts/", import.meta.url));

describe.skipIf(!hasChromium)(browserSuite("the support-team example in headless Chromium"), () => {
  let base = "";
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  const problems: string[] = [];

  beforeAll(async () => {
    requireBuild();
    ({ base } = await startExample());
    browser = await sharedChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    context.setDefaultTimeout(WAIT);
  }, 60_000);

  afterAll(async () => {
    await cleanUpInOrder([() => context?.close(), () => releaseChromium(browser), () => cleanup()]);
  });

  async function open(user: string): Promise<Page> {
    const page = await context!.newPage();
    page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console.error: ${message.text()}`);
    });
    await page.goto(`${base}/?user=${user}`);
    await expect.poll(() => page.getByTestId("connection").textContent(), { timeout: WAIT }).toBe(`connected as ${user}`);
    return page;
  }

  const events = (page: Page) => page.getByTestId("event");
  const eventTypes = (page: Page) => events(page).evaluateAll((items) => items.map((item) => item.getAttribute("data-type")));
  const status = (page: Page) => page.getByTestId("run-status").getAttribute("data-status");

  async function askOnPage(page: Page, question: string): Promise<void> {
    const runs = await page.getByTestId("run-item").count();
    await page.getByTestId("question").fill(question);
    await page.getByTestId("ask").click();
    await expect.poll(() => page.getByTestId("run-item").count(), { timeout: WAIT }).toBe(runs + 1);
    await expect.poll(() => page.getByTestId("run-question").textContent(), { timeout: WAIT }).toBe(question);
  }

  test("the page's client bundle is built from the current hearth/client", async () => {
    expect(fs.readFileSync(CLIENT_BUNDLE, "utf8")).toBe(await buildClientBundle({ write: false }));
  });

  test("ask, watch the events arrive, approve a refund, see the answers; a reload lists the runs and replays the selected one", async () => {
    const page = await open("bea");

    // A CRITICAL outage: routed to support, the primary model is down so the backup answers.
    await askOnPage(page, "Production is down for all our users since 9:00");
    await expect.poll(() => status(page), { timeout: WAIT }).toBe("completed");
    expect(await page.getByTestId("route-decision").getAttribute("data-route")).toBe("support");
    expect(await page.getByTestId("run-route").textContent()).toBe("support");
    const outage = await eventTypes(page);
    expect(outage[0]).toBe("run-started");
    expect(outage).toContain("fallback");
    expect(outage.at(-1)).toBe("run-completed");
    expect(await page.locator('[data-testid="event"][data-type="fallback"]').textContent()).toContain("ModelUnavailableError: offline-demo is unavailable (PRIMARY_MODEL=down)");
    expect(await page.getByTestId("answer").textContent()).toMatch(/^Ticket #1 \(CRITICAL\) opened: the on-call team is alerted\./);
    const outageId = await page.locator('[data-testid="run-item"].selected').getAttribute("data-id");

    // A refund waits for a person: the events stop at the approval, then go on live once it is given.
    await askOnPage(page, "Please refund my last invoice");
    await expect.poll(() => status(page), { timeout: WAIT }).toBe("waiting");
    await expect.poll(() => page.getByTestId("approval").count(), { timeout: WAIT }).toBe(1);
    expect(await page.getByTestId("approval").textContent()).toContain("Approve ticket?");
    const before = await events(page).count();
    expect(await eventTypes(page)).toContain("approval-requested");
    expect(await eventTypes(page)).not.toContain("run-completed");
    await page.getByTestId("approve").click();
    await expect.poll(() => status(page), { timeout: WAIT }).toBe("completed");
    expect(await events(page).count()).toBeGreaterThan(before);
    expect(await eventTypes(page)).toEqual(expect.arrayContaining(["approval-resolved", "run-completed"]));
    expect(await page.getByTestId("approvals").textContent()).toBe("");
    expect(await page.getByTestId("answer").textContent()).toMatch(/^Ticket #2 opened\./);

    // A writing request: research retried, two drafts, a judge.
    await askOnPage(page, "Write a short announcement about our new dark mode");
    await expect.poll(() => status(page), { timeout: WAIT }).toBe("completed");
    expect(await page.getByTestId("route-decision").getAttribute("data-route")).toBe("writer");
    expect(await page.locator('[data-testid="event"][data-type="step-retry"]').textContent()).toContain("retry 1.route/@1/writer/0.research");
    expect(await page.getByTestId("answer").textContent()).toContain("(Reviewed: draft");
    const writerId = await page.locator('[data-testid="run-item"].selected').getAttribute("data-id");

    // Every run's end is in the D1 log on the page.
    await expect.poll(() => page.getByTestId("log-row").count(), { timeout: WAIT }).toBe(3);
    expect(await page.locator(`[data-testid="log-row"][data-run="${outageId}"]`).textContent()).toContain("completed · CRITICAL");
    await screenshot(page, "support-team-run.png");

    // Reload: the runs are listed from the Desk, the selected one (#run=…) is replayed from its first event.
    const shown = await eventTypes(page);
    await page.reload();
    await expect.poll(() => page.getByTestId("connection").textContent(), { timeout: WAIT }).toBe("connected as bea");
    await expect.poll(() => page.getByTestId("run-item").count(), { timeout: WAIT }).toBe(3);
    expect(await page.getByTestId("run-item").evaluateAll((items) => items.map((item) => item.getAttribute("data-status")))).toEqual(["completed", "completed", "completed"]);
    await expect.poll(() => eventTypes(page), { timeout: WAIT }).toEqual(shown);
    expect(await page.locator('[data-testid="run-item"].selected').getAttribute("data-id")).toBe(writerId);
    expect(await page.getByTestId("answer").textContent()).toContain("(Reviewed: draft");

    // An older run, chosen in the list, shows its own events and answer.
    await page.locator(`[data-testid="run-item"][data-id="${outageId}"]`).click();
    await expect.poll(() => page.getByTestId("answer").textContent(), { timeout: WAIT }).toMatch(/^Ticket #1 \(CRITICAL\)/);
    await expect.poll(() => eventTypes(page), { timeout: WAIT }).toEqual(outage);
    expect(await page.getByTestId("run-route").textContent()).toBe("support");
    expect(problems).toEqual([]);
  }, 60_000);

  test("over the limit the page says so, with the Retry-After; another user's page is not affected", async () => {
    const page = await open("hank");
    // The binding counts per wall-clock minute: 5 questions fit, the 6th is refused — unless a minute
    // boundary passed between them (the count starts again), which starting well inside a minute avoids.
    await awayFromWindowEdge(15_000);
    const minute = Math.floor(Date.now() / 60_000);
    for (let count = 1; count <= 5; count++) await askOnPage(page, `Where is invoice ${count}?`);
    await page.getByTestId("question").fill("One more question");
    await page.getByTestId("ask").click();
    const refusedOrRan = async () => (await page.getByTestId("ask-error").textContent()) !== "" || (await page.getByTestId("run-item").count()) === 6;
    await expect.poll(refusedOrRan, { timeout: WAIT }).toBe(true);
    if (Math.floor(Date.now() / 60_000) === minute) {
      expect(await page.getByTestId("ask-error").textContent()).toMatch(/^Rate limit reached for key "hank"; retry after \d+ s \(Retry-After: \d+ s\)$/);
      expect(await page.getByTestId("run-item").count()).toBe(5);
    }
    // The browser logs the refused request itself.
    problems.splice(0, problems.length, ...problems.filter((problem) => !/status of 429/.test(problem)));
    const other = await open("ivy");
    await askOnPage(other, "Where is my invoice?");
    await expect.poll(() => status(other), { timeout: WAIT }).toBe("completed");
    expect(problems).toEqual([]);
  }, 60_000);
});

async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });
}
