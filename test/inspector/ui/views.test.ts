/**
 * Every main view of the inspector UI in headless Chromium: no serious or critical axe violations
 * (WCAG 2.x A and AA) in the dark and the light theme, a screenshot of each in artifacts/, usable
 * from the keyboard, and the sign-in page. Needs Chromium at /usr/bin/chromium; skipped without it.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { WorkflowBinding } from "../../../src/workflow/binding.ts";
import { browserSuite, hasChromium } from "../../support/browser.ts";
import type { Notes } from "./fixtures.ts";
import { InspectorUi, until } from "./harness.ts";

/** The main views: route, screenshot name, and text that shows the view has its data. */
const VIEWS: ReadonlyArray<{ route: string; name: string; ready: string }> = [
  { route: "/", name: "overview", ready: "Recent problems" },
  { route: "/agents/Notes", name: "agents", ready: "Open by exact name" },
  { route: "/agents/Notes/alice", name: "agent-state", ready: "Read-only: editing state" },
  { route: "/agents/Notes/alice/sql?table=notes", name: "agent-sql", ready: "Framework tables" },
  { route: "/agents/Notes/alice/connections", name: "agent-connections", ready: "No open WebSockets." },
  { route: "/agents/Notes/alice/methods", name: "agent-methods", ready: "Callable methods" },
  { route: "/agents/Notes/alice/schedules", name: "agent-schedules", ready: "remind" },
  { route: "/agents/Notes/alice/children", name: "agent-children", ready: "No sub-agents." },
  { route: "/agents/Notes/alice/live", name: "agent-live", ready: "Events and logs" },
  { route: "/workflows", name: "workflows", ready: "views-1" },
  { route: "/workflows/Approval/views-1", name: "workflow", ready: "approval" },
  { route: "/team-runs", name: "team-runs", ready: "Team runs" },
  { route: "/traces", name: "traces", ready: "Traces" },
  { route: "/logs", name: "logs", ready: "a note was added" },
  { route: "/metrics", name: "metrics", ready: "Current values" },
  { route: "/alerts", name: "alerts", ready: "Alerts" },
  { route: "/audit", name: "audit", ready: "Audit log" },
];

/** The light theme shares every class of the dark one: these views cover each of its colours. */
const LIGHT_VIEWS = new Set(["overview", "agent-state", "agent-sql", "workflow", "logs", "alerts"]);

describe.skipIf(!hasChromium)(browserSuite("inspector UI views in headless Chromium"), { timeout: 90_000 }, () => {
  const ui = new InspectorUi();
  let page: Page;

  beforeAll(async () => {
    await ui.start();
    const alice = ui.t!.get<Notes>("Notes", "alice");
    await alice.add("a first note");
    await alice.plan("renew the domain");
    await (ui.t!.env["Approval"] as WorkflowBinding<{ to: string }>).create({ id: "views-1", params: { to: "erin" } });
    const now = Date.now();
    ui.logs.onRecord({ level: 30, time: now, msg: "a note was added", agent: "Notes", name: "alice" });
    ui.logs.onRecord({ level: 50, time: now, msg: "reminder failed", agent: "Notes", name: "alice", err: { type: "Error", message: "SMTP refused the message", stack: "Error: SMTP refused the message\n    at remind (notes.ts:10:5)" } });
    await until(() => ui.errorGroups.recent({ limit: 5 }).length === 1, "the error log line to be grouped");
    page = await ui.open("/");
  }, 120_000);
  afterAll(() => ui.close());

  async function show(route: string, ready: string): Promise<void> {
    await ui.go(page, route);
    await page.locator("main").getByText(ready, { exact: false }).first().waitFor();
  }

  for (const theme of ["dark", "light"] as const) {
    for (const view of VIEWS.filter((v) => theme === "dark" || LIGHT_VIEWS.has(v.name))) {
      test(`${view.route} passes axe (WCAG 2 A/AA) in the ${theme} theme`, async () => {
        if ((await page.evaluate(() => document.documentElement.dataset["theme"])) !== theme) {
          await page.getByRole("button", { name: `Switch to ${theme} theme` }).click();
        }
        await show(view.route, view.ready);
        expect(await ui.seriousViolations(page)).toEqual([]);
        await ui.screenshot(page, `${view.name}-${theme}`);
        expect(ui.problems).toEqual([]);
      }, 60_000);
    }
  }

  test("the overview links a problem to its agent and its log lines", async () => {
    await show("/", "SMTP refused the message");
    await page.getByRole("link", { name: "Logs of Error: SMTP refused the message" }).or(page.getByRole("link", { name: /^Logs of / })).first().click();
    await page.locator("main").getByText("reminder failed").waitFor();
    expect(await page.evaluate(() => location.hash)).toMatch(/^#\/logs\?/);
  });

  test("keyboard: the skip link reaches the content, Escape closes the unlock dialog", async () => {
    await show("/", "Recent problems");
    await page.reload();
    await page.getByRole("heading", { name: "Recent problems" }).waitFor();
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await page.keyboard.press("Enter");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("main");

    await page.getByRole("banner").getByRole("button", { name: "Unlock writes" }).focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: "Unlock writes" });
    await dialog.waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("admin-token");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
  });

  test("the axe check reports a planted image without a text alternative and text too faint to read", async () => {
    const planted = await ui.open("/");
    await planted.evaluate(() => {
      document.body.insertAdjacentHTML("afterbegin", '<img src="data:," id="planted-img"><p id="planted-faint">faint</p>');
      // Through the CSSOM: the inspector's content security policy refuses inline style attributes.
      const faint = document.getElementById("planted-faint")!;
      faint.style.color = "#777777";
      faint.style.backgroundColor = "#707070";
    });
    const violations = await ui.seriousViolations(planted);
    expect(violations.find((v) => v.startsWith("image-alt (critical)"))).toContain("#planted-img");
    expect(violations.find((v) => v.startsWith("color-contrast (serious)"))).toContain("#planted-faint");
    await planted.close();
  });

  test("the sign-in page refuses a wrong token and signs in with the right one", async () => {
    const signIn = await ui.openSignedOut();
    await signIn.getByLabel("Token").fill("not-the-token-at-all");
    await signIn.getByRole("button", { name: "Sign in" }).click();
    await signIn.getByRole("alert").getByText("That token was not accepted.").waitFor();
    expect(await ui.seriousViolations(signIn)).toEqual([]);
    await ui.screenshot(signIn, "sign-in");
    await signIn.getByLabel("Token").fill(ui.inspector!.token);
    await signIn.getByRole("button", { name: "Sign in" }).click();
    await signIn.getByText("Read-only", { exact: true }).waitFor();
    await signIn.context().close();
  });
});
