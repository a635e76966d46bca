/**
 * Lists inside an instance's tabs page through everything: the team runs an agent owns (more than one
 * page of them), its schedules, and a sub-agent's table rows (its `?sub=` path and the page's query both kept). Needs
 * Chromium at /usr/bin/chromium; without it the suite is skipped.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { browserSuite, hasChromium } from "../../support/browser.ts";
import type { Editor, Notes } from "./fixtures.ts";
import { InspectorUi, WAIT } from "./harness.ts";

describe.skipIf(!hasChromium)(browserSuite("inspector UI: paged lists in an instance's tabs"), { timeout: 120_000 }, () => {
  const ui = new InspectorUi();
  beforeAll(() => ui.start(), 120_000);
  afterAll(() => ui.close());

  test("an owner's team runs, past the newest 50", async () => {
    const editor = ui.t!.get<Editor>("Editor", "many-runs");
    const oldest = await editor.review("the oldest");
    for (let i = 1; i < 55; i++) await editor.review(`number ${i}`);
    const page = await ui.fresh("/agents/Editor/many-runs/children");
    const runs = page.getByRole("table", { name: "Team runs of this agent" });
    await expect.poll(() => runs.getByRole("row").count(), { timeout: WAIT }).toBe(51);
    expect(await runs.getByRole("link", { name: oldest }).count()).toBe(0);
    const pager = page.getByRole("navigation", { name: "Pages" });
    await pager.getByRole("button", { name: "Next →" }).click();
    await runs.getByRole("link", { name: oldest }).waitFor();
    expect(await runs.getByRole("row").count()).toBe(6);
    expect(await pager.getByRole("button", { name: "Next →" }).isDisabled()).toBe(true);
    expect(ui.problems).toEqual([]);
  });

  test("an agent's schedules, past the first 50", async () => {
    const notes = ui.t!.get<Notes>("Notes", "many-plans");
    for (let i = 0; i < 55; i++) await notes.plan(`reminder ${i}`);
    const ids = await notes.scheduleIds();
    const page = await ui.fresh("/agents/Notes/many-plans/schedules");
    const schedules = page.getByRole("table", { name: "Schedules" });
    await expect.poll(() => schedules.getByRole("row").count(), { timeout: WAIT }).toBe(51);
    const pager = page.getByRole("navigation", { name: "Pages of schedules" });
    await pager.getByRole("button", { name: "Next →" }).click();
    await schedules.getByRole("cell", { name: ids.at(-1)!, exact: true }).waitFor();
    expect(await schedules.getByRole("row").count()).toBe(6);
    expect(await pager.getByRole("button", { name: "Next →" }).isDisabled()).toBe(true);
    // One page only: the queue shows no pager.
    expect(await page.getByRole("navigation", { name: "Pages of the queue" }).count()).toBe(0);
    expect(ui.problems).toEqual([]);
  });

  test("a sub-agent's table rows", async () => {
    await ui.t!.get<Notes>("Notes", "sue").noteInThread("t1", "a thread note");
    const page = await ui.fresh(`/agents/Notes/sue/sql?sub=${encodeURIComponent("Thread/t1")}`);
    await page.getByRole("heading", { name: "Notes/sue › Thread/t1" }).waitFor();
    const table = page.locator("main ul.tree a").first();
    const name = (await table.textContent())!;
    await table.click();
    await page.getByRole("heading", { name, exact: true }).waitFor();
    await page.getByRole("table", { name: `Rows of ${name}` }).or(page.getByText("No rows.")).first().waitFor();
    expect(await page.getByRole("alert").count()).toBe(0);
    expect(ui.problems).toEqual([]);
  });
});
