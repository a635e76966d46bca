/**
 * The sign-in link (`#token=…&to=…`): a token holding `+`, `%`, `&` and `#` signs in from the link the
 * inspector prints, and `to` opens its route as written — its own query and its encoded names kept;
 * a link opened in a tab already signed in is taken too, its token kept out of the address and history.
 * Needs Chromium at /usr/bin/chromium; without it the suite is skipped.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { browserSuite, hasChromium } from "../../support/browser.ts";
import type { Notes } from "./fixtures.ts";
import { InspectorUi } from "./harness.ts";

/** A viewer token the inspector accepts (16+ characters, no spaces) with every character a URL treats apart. */
const ODD_TOKEN = "viewer+token%41&to=/#x?y-0123";

describe.skipIf(!hasChromium)(browserSuite("inspector UI: sign-in links"), { timeout: 90_000 }, () => {
  const ui = new InspectorUi();
  beforeAll(() => ui.start({ token: ODD_TOKEN }), 120_000);
  afterAll(() => ui.close());

  test("the printed link signs in with a token holding +, %, & and #, and leaves no token in the address", async () => {
    expect(ui.inspector!.openUrl).toBe(`${ui.inspector!.url}#token=${encodeURIComponent(ODD_TOKEN)}`);
    const page = await ui.fresh("/agents");
    expect(await page.getByTestId("role-badge").textContent()).toBe("Read-only");
    expect(await page.evaluate(() => location.hash)).toBe("#/agents");
    expect(ui.problems).toEqual([]);
  });

  /** A new tab, in a browser not signed in, opening a sign-in link with the admin token (a plain one) and `to`. */
  async function openAsAdmin(to: string): Promise<Page> {
    const page = await ui.openSignedOut();
    await page.goto("about:blank");
    await page.goto(`${ui.inspector!.url}#token=${ui.adminToken}&to=${to}`);
    await page.getByText("Admin: writes unlocked").waitFor();
    return page;
  }

  test("to= keeps the route's own query", async () => {
    const page = await openAsAdmin("/logs?level=error&class=Notes");
    expect(await page.evaluate(() => location.hash)).toBe("#/logs?level=error&class=Notes");
    expect(await page.getByLabel("Class", { exact: true }).inputValue()).toBe("Notes");
    expect(await page.getByLabel("Level", { exact: true }).inputValue()).toBe("error");
    expect(ui.problems).toEqual([]);
  });

  test("to= keeps an encoded slash inside a name", async () => {
    await ui.t!.get<Notes>("Notes", "q3/plans").add("a note");
    const page = await openAsAdmin(`/agents/Notes/${encodeURIComponent("q3/plans")}`);
    await page.getByRole("heading", { name: "Notes/q3/plans", exact: true }).waitFor();
    expect(await page.evaluate(() => location.hash)).toBe("#/agents/Notes/q3%2Fplans");
    expect(ui.problems).toEqual([]);
  });

  test("to= encoded whole, as links made with encodeURIComponent have it, is decoded once", async () => {
    const page = await openAsAdmin(encodeURIComponent("/logs?level=warn&class=Notes"));
    expect(await page.evaluate(() => location.hash)).toBe("#/logs?level=warn&class=Notes");
    expect(ui.problems).toEqual([]);
  });

  test("a sign-in link opened in a tab already signed in signs in with its token and leaves it in neither the address nor the history", async () => {
    const page = await ui.fresh("/");
    expect(await page.getByTestId("role-badge").textContent()).toBe("Read-only");
    await ui.go(page, `token=${ui.adminToken}&to=/agents`);
    await page.getByText("Admin: writes unlocked").waitFor();
    await page.getByRole("heading", { name: "Agents", exact: true }).waitFor();
    expect(await page.evaluate(() => location.hash)).toBe("#/agents");
    await page.goBack();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe("#/");
    await page.goForward();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe("#/agents");
    expect(page.url()).not.toContain("token=");
    expect(ui.problems).toEqual([]);
  });
});
