/**
 * An agent's lists come in pages (`?limit=` at most 500, a `next` cursor), and its state is shown
 * whole only up to a limit: a large one answers its start and its size.
 */
import { afterEach, describe, expect, it } from "vitest";
import { INSPECTOR_LIMITS } from "../../src/inspector/limits.ts";
import { startFixture, type Fixture, type Notebook } from "./fixture.ts";

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

/** Every item of a list, page by page (`limit` each), and the pages' sizes. */
async function allPages(f: Fixture, path: string, limit: number): Promise<{ ids: string[]; sizes: number[] }> {
  const ids: string[] = [];
  const sizes: number[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: Array<{ id: string }>; next: string | null } = (await f.api(`${path}?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`)).json();
    ids.push(...page.items.map((item) => item.id));
    sizes.push(page.items.length);
    cursor = page.next;
  } while (cursor !== null);
  return { ids, sizes };
}

describe("inspector lists of an agent", () => {
  it("pages schedules", async () => {
    fixture = await startFixture();
    const stub = fixture.t.get<Notebook>("Notebook", "a");
    // The same cron schedule asked for twice is one schedule: three in all.
    const planned = new Set([await stub.plan(), await stub.plan()].flatMap((ids) => [ids.once, ids.cron]));
    const { ids, sizes } = await allPages(fixture, "/api/agents/Notebook/a/schedules", 2);
    expect(sizes).toEqual([2, 1]);
    expect(ids.toSorted()).toEqual([...planned].toSorted());
    expect((await fixture.api("/api/agents/Notebook/a/schedules?limit=501")).status).toBe(400);
  });

  it("pages the queue", async () => {
    fixture = await startFixture();
    const stub = fixture.t.get<Notebook>("Notebook", "a");
    const queued = [await stub.queueFailing(), await stub.queueFailing(), await stub.queueFailing()];
    const { ids, sizes } = await allPages(fixture, "/api/agents/Notebook/a/queue", 2);
    expect(sizes).toEqual([2, 1]);
    expect(ids.toSorted()).toEqual(queued.toSorted());
  });

  it("pages connections", async () => {
    fixture = await startFixture();
    await fixture.t.get<Notebook>("Notebook", "a").add(1);
    for (let i = 0; i < 3; i++) await fixture.t.connect("Notebook", "a");
    const { ids, sizes } = await allPages(fixture, "/api/agents/Notebook/a/connections", 2);
    expect(sizes).toEqual([2, 1]);
    expect(new Set(ids).size).toBe(3);
  });

  it("shows a state larger than the limit as the start of its JSON and its size", async () => {
    fixture = await startFixture();
    await fixture.t.get<Notebook>("Notebook", "a").add(1);
    const title = INSPECTOR_LIMITS.maxStateChars + 100;
    const grow = `UPDATE _hearth_state SET data = json_set(data, '$.title', printf('%.*c', ${title}, 'x'))`;
    await fixture.api("/api/agents/Notebook/a/sql/query", { method: "POST", as: "admin", body: { sql: grow, write: true } });
    const json = `{"count":1,"title":"${"x".repeat(title)}"}`;
    const shown = (await fixture.api("/api/agents/Notebook/a/state")).json();
    expect(shown).toEqual({ state: null, truncated: true, chars: json.length, preview: json.slice(0, INSPECTOR_LIMITS.maxStateChars) });
  });
});
