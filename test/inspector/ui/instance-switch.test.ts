/**
 * Moving from one agent instance to another in the same page (links, the address bar, Back): nothing
 * of the instance before carries over — not an open state editor, not its answer under a 404, not its
 * live lines, not the SQL console's "Allow writes", not the table grid's page. Needs Chromium at
 * /usr/bin/chromium; without it the suite is skipped.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { browserSuite, hasChromium } from "../../support/browser.ts";
import type { Notes } from "./fixtures.ts";
import { InspectorUi, WAIT } from "./harness.ts";

describe.skipIf(!hasChromium)(browserSuite("inspector UI: one instance's page state stays with it"), { timeout: 90_000 }, () => {
  const ui = new InspectorUi();
  beforeAll(() => ui.start(), 120_000);
  afterAll(() => ui.close());

  const notes = (name: string) => ui.t!.get<Notes>("Notes", name);

  test("an open state editor stays with its instance: the next one shows its own state, and nothing is saved to it", async () => {
    expect(await notes("bob").read()).toEqual({ title: "first", count: 0 });
    await notes("alice").add("so alice has a note");
    const page = await ui.fresh("/agents/Notes/bob");
    await ui.unlock(page);
    await ui.go(page, "/agents/Notes/alice");
    await page.getByRole("heading", { name: "Notes/alice" }).waitFor();
    await page.getByRole("button", { name: "Edit state" }).click();
    await page.getByLabel(/State as JSON/).fill(JSON.stringify({ title: "ALICE-ONLY", count: 42 }));
    await page.goBack();
    await page.getByRole("heading", { name: "Notes/bob" }).waitFor();
    await page.getByRole("group", { name: "Agent state" }).getByText('"first"').waitFor();
    expect(await page.getByLabel(/State as JSON/).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Save state" }).count()).toBe(0);
    expect(await notes("bob").read()).toEqual({ title: "first", count: 0 });
    expect(ui.problems).toEqual([]);
  });

  test("an instance that does not exist shows the error alone, not the instance before it", async () => {
    await notes("alice").add("alice exists");
    const page = await ui.fresh("/agents/Notes/alice");
    await page.getByRole("navigation", { name: "Instance tabs" }).waitFor();
    await ui.go(page, "/agents/Nope/alice");
    await page.getByRole("alert").getByText('No agent class "Nope" is registered').waitFor();
    expect(await page.getByRole("navigation", { name: "Instance tabs" }).count()).toBe(0);
    expect(await page.getByRole("group", { name: "Agent state" }).count()).toBe(0);
    expect(ui.problems).toEqual([]);
  });

  test("the live tab of the next instance starts empty of the one before's lines", async () => {
    const page = await ui.fresh("/agents/Notes/alice/live");
    await page.getByRole("status").getByText("live", { exact: true }).waitFor();
    ui.logs.onRecord({ level: 40, time: Date.now(), msg: "a line of alice", agent: "Notes", name: "alice" });
    const lines = page.getByTestId("live-lines");
    await lines.getByText("a line of alice").waitFor();
    await ui.go(page, "/agents/Notes/bob/live");
    await page.getByRole("heading", { name: "Notes/bob" }).waitFor();
    await page.getByRole("status").getByText("live", { exact: true }).waitFor();
    ui.logs.onRecord({ level: 40, time: Date.now(), msg: "a line of bob", agent: "Notes", name: "bob" });
    await lines.getByText("a line of bob").waitFor();
    expect(await lines.getByText("a line of alice").count()).toBe(0);
    expect(ui.problems).toEqual([]);
  });

  test("the SQL console's Allow writes and the table grid's page stay with their instance", async () => {
    for (const name of ["sql-a", "sql-b"]) for (let i = 0; i < 101; i++) await notes(name).add(`${name} note ${i}`);
    const page = await ui.fresh("/agents/Notes/sql-a/sql?table=notes");
    await ui.unlock(page);
    const allowWrites = page.getByLabel(/Allow writes/);
    await allowWrites.check();
    const pager = page.getByRole("navigation", { name: "Pages" }).first();
    await pager.getByRole("button", { name: "Next →" }).click();
    await pager.getByText("Page 2").waitFor();
    await ui.go(page, "/agents/Notes/sql-b/sql?table=notes");
    await page.getByRole("heading", { name: "Notes/sql-b" }).waitFor();
    await page.getByRole("table", { name: "Rows of notes" }).getByText("sql-b note 0", { exact: true }).waitFor({ timeout: WAIT });
    expect(await pager.getByText("Page 1").count()).toBe(1);
    expect(await allowWrites.isChecked()).toBe(false);
    expect(ui.problems).toEqual([]);
  });
});
