/**
 * The state tab shows what the API tells about the state: the class's initialState, noted as not
 * stored yet (the look stores nothing), and a state too large to show whole as the start of its JSON,
 * with no editor. Needs Chromium at /usr/bin/chromium; without it the suite is skipped.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { browserSuite, hasChromium } from "../../support/browser.ts";
import { INSPECTOR_LIMITS } from "../../../src/inspector/limits.ts";
import type { Notes } from "./fixtures.ts";
import { InspectorUi } from "./harness.ts";

describe.skipIf(!hasChromium)(browserSuite("inspector UI: the state tab"), { timeout: 90_000 }, () => {
  const ui = new InspectorUi();
  beforeAll(() => ui.start(), 120_000);
  afterAll(() => ui.close());

  const notes = (name: string) => ui.t!.get<Notes>("Notes", name);
  const storedRows = async (name: string) => {
    const response = await fetch(new URL(`/api/agents/Notes/${name}/sql/query`, ui.inspector!.url), {
      method: "POST",
      headers: { authorization: `Bearer ${ui.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ sql: "SELECT count(*) FROM _hearth_state" }),
    });
    return ((await response.json()) as { rows: number[][] }).rows[0]![0];
  };

  test("an agent with no state stored yet: its initialState, noted, and nothing stored by the look", async () => {
    await notes("nina").add("a note, no state read");
    const page = await ui.fresh("/agents/Notes/nina/state");
    await page.getByRole("group", { name: "Agent state" }).getByText('"first"').waitFor();
    await page.getByRole("note").getByText(/Nothing is stored yet/).waitFor();
    expect(await storedRows("nina")).toBe(0);
    expect(ui.problems).toEqual([]);
  });

  test("a state too large to show whole: the start of its JSON and its size, no editor", async () => {
    await notes("otto").add("x");
    expect(await notes("otto").read()).toEqual({ title: "first", count: 0 });
    const grow = `UPDATE _hearth_state SET data = json_set(data, '$.title', printf('%.*c', ${INSPECTOR_LIMITS.maxStateChars + 10}, 'x'))`;
    const write = await fetch(new URL("/api/agents/Notes/otto/sql/query", ui.inspector!.url), {
      method: "POST",
      headers: { authorization: `Bearer ${ui.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ sql: grow, write: true }),
    });
    expect(write.status).toBe(200);
    const page = await ui.fresh("/agents/Notes/otto/state");
    await page.getByRole("note").getByText(/characters of JSON: its first/).waitFor();
    expect((await page.getByLabel("Start of the agent state").textContent())?.startsWith('{"title":"xxx')).toBe(true);
    await ui.unlock(page);
    expect(await page.getByRole("button", { name: "Edit state" }).count()).toBe(0);
    expect(ui.problems).toEqual([]);
  });
});
