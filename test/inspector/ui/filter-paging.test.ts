/**
 * Applying a filter to a list that is on its second page shows the first page of the filtered list:
 * workflows, traces, team runs, and a class's instances searched by a link. Needs Chromium at /usr/bin/chromium; without
 * it the suite is skipped.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { SourceQuery } from "../../../src/inspector/index.ts";
import type { WorkflowBinding } from "../../../src/workflow/binding.ts";
import { browserSuite, hasChromium } from "../../support/browser.ts";
import type { Editor, Notes } from "./fixtures.ts";
import { InspectorUi, WAIT } from "./harness.ts";

/** More than one page of the API's default 50. */
const MANY = 55;
const padded = (i: number) => String(i).padStart(2, "0");

/** Trace summaries, newest first: even ones of Notes, odd ones of Editor; paged by offset as cursor. */
function traceRows(query: SourceQuery) {
  const rows = Array.from({ length: MANY }, (_, i) => ({
    traceId: `trace-${padded(i)}`,
    rootName: `root ${padded(i)}`,
    class: i % 2 === 0 ? "Notes" : "Editor",
    startedAt: Date.now() - i * 1000,
    durationMs: 5,
    spans: 1,
    error: false,
  })).filter((row) => query.class === undefined || row.class === query.class);
  const offset = Number(query.cursor ?? 0);
  const limit = Number(query.limit ?? 50);
  return { items: rows.slice(offset, offset + limit), next: offset + limit < rows.length ? String(offset + limit) : null };
}

describe.skipIf(!hasChromium)(browserSuite("inspector UI: a new filter starts at the first page"), { timeout: 120_000 }, () => {
  const ui = new InspectorUi();
  beforeAll(() => ui.start({ spans: { list: traceRows, get: () => undefined } }), 120_000);
  afterAll(() => ui.close());

  async function toSecondPage(page: Page): Promise<void> {
    const pager = page.getByRole("navigation", { name: "Pages" });
    await pager.getByRole("button", { name: "Next →" }).click();
    await pager.getByText("Page 2").waitFor();
  }

  async function filterBy(page: Page, label: string, value: string): Promise<void> {
    await page.getByLabel(label, { exact: true }).fill(value);
    await page.getByRole("button", { name: "Apply filters" }).click();
  }

  test("workflows", async () => {
    const approval = ui.t!.env["Approval"] as WorkflowBinding<{ to: string }>;
    for (let i = 0; i < MANY; i++) await approval.create({ id: `paged-${padded(i)}`, params: { to: "x" } });
    const page = await ui.fresh("/workflows");
    await toSecondPage(page);
    await filterBy(page, "Id or params", "paged-07");
    await page.getByRole("table", { name: "Workflow instances" }).getByRole("link", { name: "paged-07" }).waitFor();
    expect(await page.getByRole("navigation", { name: "Pages" }).getByText("Page 1").count()).toBe(1);
    expect(ui.problems).toEqual([]);
  });

  test("traces", async () => {
    const page = await ui.fresh("/traces");
    await toSecondPage(page);
    await filterBy(page, "Class", "Editor");
    await page.getByRole("link", { name: "root 01", exact: true }).waitFor();
    expect(await page.getByRole("navigation", { name: "Pages" }).getByText("Page 1").count()).toBe(1);
    expect(ui.problems).toEqual([]);
  });

  test("team runs", async () => {
    const editor = ui.t!.get<Editor>("Editor", "paging");
    const first = await editor.review("the first");
    for (let i = 1; i < MANY; i++) await editor.review(`number ${i}`);
    const page = await ui.fresh("/team-runs");
    const runs = page.getByRole("table", { name: "Team runs" });
    await expect.poll(() => runs.getByRole("row").count(), { timeout: WAIT }).toBe(51);
    await toSecondPage(page);
    await page.getByLabel("Status", { exact: true }).selectOption("running");
    await filterBy(page, "Class", "Editor");
    await expect.poll(() => runs.getByRole("row").count(), { timeout: WAIT }).toBe(51);
    expect(await page.getByRole("navigation", { name: "Pages" }).getByText("Page 1").count()).toBe(1);
    expect(await runs.getByRole("link", { name: first }).count()).toBe(0); // the oldest is on page 2
    expect(ui.problems).toEqual([]);
  });

  test("a class's instances, searched by a link", async () => {
    for (let i = 0; i < MANY; i++) await ui.t!.get<Notes>("Notes", `inst-${padded(i)}`).count();
    const page = await ui.fresh("/agents/Notes");
    await toSecondPage(page);
    await ui.go(page, "/agents/Notes?q=inst-0");
    await expect
      .poll(() => page.getByRole("table", { name: "Instances of Notes" }).getByRole("link").allTextContents(), { timeout: WAIT })
      .toEqual(Array.from({ length: 10 }, (_, i) => `inst-0${i}`));
    expect(await page.getByRole("navigation", { name: "Pages" }).getByText("Page 1").count()).toBe(1);
    expect(ui.problems).toEqual([]);
  });
});
