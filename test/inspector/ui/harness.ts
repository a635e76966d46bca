/**
 * A real host with fixture agents, the inspector on loopback serving a build of the UI from its
 * current source, and headless Chromium to open it. Screenshots go to test/inspector/ui/artifacts/.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { AxeBuilder } from "@axe-core/playwright";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startInspector, type InspectorHandle, type InspectorOptions } from "../../../src/inspector/index.ts";
import { AlertEngine } from "../../../src/observability/alerts/alert-engine.ts";
import { createHearthMetrics, type HearthMetrics } from "../../../src/observability/metrics/hearth-metrics.ts";
import { LogStore, ProblemStore } from "../../../src/observability/store/index.ts";
import { createTestEnv, type TestEnv } from "../../../src/testing/index.ts";
import { cleanUpInOrder, releaseChromium, sharedChromium } from "../../support/browser.ts";
import { sharedUi } from "./build-ui.ts";
import { Approval, Editor, Helpdesk, Notes, Thread } from "./fixtures.ts";

export const ARTIFACTS = fileURLToPath(new URL("./artifacts/", import.meta.url));
/** Upper bound for every wait on a page. */
export const WAIT = 15_000;
const VIEWER_TOKEN = "viewer-token-0123456789abcdef";
const ADMIN_TOKEN = "admin-token-0123456789abcdef";

export class InspectorUi {
  readonly problems: string[] = [];
  t: TestEnv | undefined;
  inspector: InspectorHandle | undefined;
  /** What the inspector reads besides the host: logs (with problems) and metrics. */
  readonly logs = new LogStore();
  readonly errorGroups = new ProblemStore();
  metrics: HearthMetrics | undefined;
  alerts: AlertEngine | undefined;
  #tmp: string | undefined;
  #browser: Browser | undefined;
  #context: BrowserContext | undefined;

  get adminToken(): string {
    return ADMIN_TOKEN;
  }

  /** Starts everything; `extra` adds inspector options (say, a span source). */
  async start(extra: Partial<InspectorOptions> = {}): Promise<void> {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hearth-inspector-ui-"));
    this.#tmp = tmp;
    const uiDir = await sharedUi();
    this.t = await createTestEnv({
      agents: { Notes, Helpdesk, Thread, Editor },
      workflows: { Approval },
      time: "system",
      dataDir: path.join(tmp, "data"),
    });
    this.metrics = createHearthMetrics({ host: this.t.host });
    this.errorGroups.observe(this.logs);
    // Not started: tests evaluate the rules when they want to.
    this.alerts = new AlertEngine({ path: path.join(tmp, "alerts.sqlite"), metrics: this.metrics.registry });
    this.inspector = await startInspector({
      host: this.t.host,
      uiDir,
      token: VIEWER_TOKEN,
      adminToken: ADMIN_TOKEN,
      version: "test",
      logStore: this.logs,
      problemStore: this.errorGroups,
      alertEngine: this.alerts,
      metrics: this.metrics,
      metricsSampleMs: 250,
      ...extra,
    });
    this.#browser = await sharedChromium();
    this.#context = await this.#browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "dark" });
    this.#context.setDefaultTimeout(WAIT);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  }

  /** A new tab with no token: the sign-in page. */
  async openSignedOut(): Promise<Page> {
    if (this.#context === undefined || this.inspector === undefined) throw new Error("start() did not finish");
    const context = await this.#browser!.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "dark" });
    context.setDefaultTimeout(WAIT);
    const page = await context.newPage();
    page.on("pageerror", (error) => this.problems.push(`pageerror: ${error.message}`));
    await page.goto(this.inspector.url);
    return page;
  }

  /** A new tab signed in as viewer (through the `#token=` link), at `#{route}`. */
  async open(route = "/"): Promise<Page> {
    if (this.#context === undefined || this.inspector === undefined) throw new Error("start() did not finish");
    const page = await this.#context.newPage();
    page.on("pageerror", (error) => this.problems.push(`pageerror: ${error.message}`));
    page.on("console", (message) => {
      // A refused write or a missing section answers 4xx on purpose; everything else is a problem.
      if (message.type() === "error" && !/status of 4\d\d/.test(message.text())) this.problems.push(`console.error: ${message.text()}`);
    });
    return this.#load(page, route);
  }

  #tab: Page | undefined;

  /**
   * The UI loaded anew, signed in as viewer, at `#{route}`, in a tab kept for the next call: the
   * document before it is unloaded first (nothing of it, unlocked writes included, carries over), and
   * reusing the tab spares a new renderer and its set-up, most of what opening a page costs.
   */
  async fresh(route = "/"): Promise<Page> {
    if (this.#tab === undefined || this.#tab.isClosed()) {
      this.#tab = await this.open(route);
      return this.#tab;
    }
    await this.#tab.goto("about:blank");
    return this.#load(this.#tab, route);
  }

  async #load(page: Page, route: string): Promise<Page> {
    // `to` is the rest of the fragment, as written (docs/inspector/ui.md).
    await page.goto(`${this.inspector!.openUrl}&to=${route}`);
    await page.getByTestId("role-badge").waitFor();
    return page;
  }

  /** Unlocks writes through the dialog, as a person would. */
  async unlock(page: Page): Promise<void> {
    await page.getByRole("banner").getByRole("button", { name: "Unlock writes" }).click();
    await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
    await page.getByRole("dialog").getByRole("button", { name: "Unlock" }).click();
    await page.getByText("Admin: writes unlocked").waitFor();
    // The dialog has gone by then: were it still modal, the page behind it would be inert, and what
    // a person typed next would be lost.
    if (await page.getByRole("dialog").isVisible()) throw new Error("the unlock dialog is still open after writes were unlocked");
  }

  /** Goes to a route of the open page (hash navigation, no reload). */
  async go(page: Page, route: string): Promise<void> {
    await page.evaluate((hash) => {
      location.hash = hash;
    }, route);
  }

  async screenshot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true, animations: "disabled" });
  }

  /**
   * axe with the WCAG 2.x A/AA rules; the serious and critical violations, described. Same rules and
   * same page as axe's defaults, cheaper: only violations get their nodes listed (not every passing
   * node, each with a selector to compute), and axe runs in the page itself rather than finishing in
   * a second, blank page (the UI has no cross-origin frames, the case that needs one). axe's source
   * (~570 KB) is evaluated once per document: it stays on `window` across the UI's hash navigation,
   * and AxeBuilder evaluating it again, twice per check, was two thirds of a check's CPU.
   */
  async seriousViolations(page: Page): Promise<string[]> {
    const loaded = await Promise.all(page.frames().map((frame) => frame.evaluate(() => typeof (window as { axe?: { run?: unknown } }).axe?.run === "function")));
    const result = await new AxeBuilder({ page, ...(loaded.every(Boolean) ? { axeSource: ";" } : {}) })
      .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"])
      .options({ resultTypes: ["violations"] })
      .setLegacyMode(true)
      .analyze();
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(" | ")}`);
  }

  close(): Promise<void> {
    return cleanUpInOrder([
      () => this.#context?.close(),
      () => releaseChromium(this.#browser),
      () => this.inspector?.close(),
      () => this.metrics?.close(),
      () => this.alerts?.close(),
      () => this.logs.close(),
      () => this.t?.close(),
      () => {
        if (this.#tmp !== undefined) fs.rmSync(this.#tmp, { recursive: true, force: true });
      },
    ]);
  }
}

/** Waits until `condition` holds (checked every 20 ms), at most {@link WAIT}; for hooks, where expect.poll is not allowed. */
export async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${WAIT} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
