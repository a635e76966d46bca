/**
 * What a viewer reads changes nothing and shows no one's credentials: an agent's state is read as
 * stored (its initialState is not stored by the look), a connection's URL without its query's values.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startFixture, type Fixture, type Notebook } from "./fixture.ts";

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

const stateRows = async (f: Fixture) =>
  (await f.api("/api/agents/Notebook/a/sql/query", { method: "POST", body: { sql: "SELECT count(*) FROM _hearth_state" } })).json().rows[0][0];

describe("inspector reads", () => {
  it("shows the initialState of an agent with none stored, and stores nothing", async () => {
    fixture = await startFixture();
    await fixture.t.get<Notebook>("Notebook", "a").note("no state read yet");
    expect((await fixture.api("/api/agents/Notebook/a/state")).json()).toEqual({ state: { count: 0, title: "new" }, stored: false });
    expect(await stateRows(fixture)).toBe(0);
    expect((await fixture.api("/api/audit")).json().items).toEqual([]);
    // The agent's own first read stores it, as before; from then on the stored state is shown.
    expect(await fixture.t.get<Notebook>("Notebook", "a").add(3)).toBe(3);
    expect(await stateRows(fixture)).toBe(1);
    expect((await fixture.api("/api/agents/Notebook/a/state")).json()).toEqual({ state: { count: 3, title: "new" } });
  });

  it("shows a connection's URL with its query's names, not their values", async () => {
    fixture = await startFixture();
    await fixture.t.get<Notebook>("Notebook", "a").add(1);
    // `query` passes through to the WebSocket's URL, as a client carrying a token sends it.
    await fixture.t.connect("Notebook", "a", { query: { token: "s3cret-of-another-user" } } as never);
    const response = await fixture.api("/api/agents/Notebook/a/connections");
    expect(response.text).not.toContain("s3cret");
    const [connection] = response.json().items;
    expect(connection.uri).toMatch(/^(?:http|ws)s?:\/\/127\.0\.0\.1:\d+\/agents\/notebook\/a\?(?:.*&)?token=…(?:&|$)/);
  });
});
