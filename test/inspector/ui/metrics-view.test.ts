/**
 * The Metrics view: the Prometheus text shown in the page and downloaded, read with the page's session
 * (a plain link to /metrics is refused: it cannot send the session's proof); a `name` that is no
 * metric picks no chart. Needs Chromium at /usr/bin/chromium; without it the suite is skipped.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { browserSuite, hasChromium } from "../../support/browser.ts";
import type { Notes } from "./fixtures.ts";
import { InspectorUi, WAIT } from "./harness.ts";

describe.skipIf(!hasChromium)(browserSuite("inspector UI: the Metrics view"), { timeout: 90_000 }, () => {
  const ui = new InspectorUi();
  beforeAll(() => ui.start(), 120_000);
  afterAll(() => ui.close());

  test("shows the Prometheus text, and downloads it", async () => {
    await ui.t!.get<Notes>("Notes", "rita").add("an agent in memory");
    const page = await ui.fresh("/metrics");
    await page.getByText("Prometheus text (GET /metrics)").click();
    const text = page.getByLabel("Prometheus text");
    await expect.poll(() => text.textContent(), { timeout: WAIT }).toMatch(/^# (HELP|TYPE) hearth_/m);
    expect(await text.textContent()).toMatch(/^hearth_agents\b/m);

    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: "Download metrics.txt" }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe("metrics.txt");
    expect(readFileSync(await file.path(), "utf8")).toMatch(/^# TYPE hearth_agents /m);
    expect(ui.problems).toEqual([]);
  });

  test("a chart name that is not a metric, such as constructor, shows no chart and no error", async () => {
    const page = await ui.fresh("/metrics?name=constructor");
    await page.getByRole("heading", { name: "Current values" }).waitFor();
    expect(await page.locator("figure.chart").count()).toBe(0);
    expect(ui.problems).toEqual([]);
  });
});
