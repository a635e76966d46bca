/**
 * What the live views show: an instance's "Events & logs" tab has that instance's lines alone (a
 * sub-agent's its own, not its parent's; never the host's), and the Logs view's live tail keeps the
 * lines its search would find. Needs Chromium at /usr/bin/chromium; without it the suite is skipped.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { browserSuite, hasChromium } from "../../support/browser.ts";
import type { Notes } from "./fixtures.ts";
import { InspectorUi } from "./harness.ts";

describe.skipIf(!hasChromium)(browserSuite("inspector UI: live views show what their filters name"), { timeout: 90_000 }, () => {
  const ui = new InspectorUi();
  beforeAll(() => ui.start(), 120_000);
  afterAll(() => ui.close());

  const line = (msg: string, fields: Record<string, unknown> = {}) => ui.logs.onRecord({ level: 40, time: Date.now(), msg, ...fields });

  test("an instance's tab leaves out the host's own log lines", async () => {
    expect(await ui.t!.get<Notes>("Notes", "olga").count()).toBe(0);
    const page = await ui.fresh("/agents/Notes/olga/live");
    await page.getByRole("status").getByText("live", { exact: true }).waitFor();
    line("a line of the host");
    line("a line of olga", { agent: "Notes", name: "olga" });
    const lines = page.getByTestId("live-lines");
    await lines.getByText("a line of olga").waitFor();
    expect(await lines.getByText("a line of the host").count()).toBe(0);
    expect(ui.problems).toEqual([]);
  });

  test("a sub-agent's tab shows the sub-agent's events and lines, not its parent's", async () => {
    await ui.t!.get<Notes>("Notes", "pia").noteInThread("q4", "a first note");
    const page = await ui.fresh(`/agents/Notes/pia/live?sub=${encodeURIComponent("Thread/q4")}`);
    await page.getByRole("heading", { name: "Notes/pia › Thread/q4" }).waitFor();
    await page.getByRole("status").getByText("live", { exact: true }).waitFor();
    line("a line of pia", { agent: "Notes", name: "pia" });
    line("a line of the thread", { agent: "Thread", name: "q4" });
    await ui.t!.get<Notes>("Notes", "pia").noteInThread("q4", "a second note");
    const lines = page.getByTestId("live-lines");
    await lines.getByText("a line of the thread").waitFor();
    await lines.getByText("state:update", { exact: true }).first().waitFor(); // the thread's, from its write
    expect(await lines.getByText("a line of pia").count()).toBe(0);
    expect(await lines.getByText("noteInThread").count()).toBe(0); // the parent's rpc event
    expect(ui.problems).toEqual([]);
  });

  test("the Logs live tail shows the lines its search would: not the host's under a class, text only in the message", async () => {
    const page = await ui.fresh("/logs?class=Notes&q=needle&live=true");
    await page.getByText("Live: new lines appear at the bottom.").waitFor();
    line("a needle of the host");
    line("hay of quinn", { agent: "Notes", name: "quinn", note: "needle in another field" });
    line("a needle of quinn", { agent: "Notes", name: "quinn" });
    const main = page.locator("main");
    await main.getByText("a needle of quinn").waitFor();
    expect(await main.getByText("a needle of the host").count()).toBe(0);
    expect(await main.getByText("hay of quinn").count()).toBe(0);

    // The search with the same filters finds that one line too.
    await page.getByRole("button", { name: "Stop live tail" }).click();
    await main.getByText("a needle of quinn").waitFor();
    expect(await main.getByText("a needle of the host").count()).toBe(0);
    expect(await main.getByText("hay of quinn").count()).toBe(0);
    expect(ui.problems).toEqual([]);
  });
});
