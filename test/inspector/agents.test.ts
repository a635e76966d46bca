import { existsSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { startFixture, until, type Fixture, type Notebook, type NotebookState } from "./fixture.ts";

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

async function withAgent(): Promise<Fixture> {
  fixture = await startFixture();
  await fixture.t.get<Notebook>("Notebook", "a").add(2);
  return fixture;
}

const query = (f: Fixture, sql: string, extra: Record<string, unknown> = {}, as: "viewer" | "admin" = "viewer") =>
  f.api("/api/agents/Notebook/a/sql/query", { method: "POST", as, body: { sql, ...extra } });

describe("inspector agents API", () => {
  it("lists classes with live counts, and an agent's summary and features", async () => {
    const f = await withAgent();
    const classes = (await f.api("/api/classes")).json();
    expect(classes).toEqual([{ class: "Notebook", binding: true, kind: "agent", live: 1, hibernated: 0, total: 1, sockets: 0 }]);
    const detail = (await f.api("/api/agents/Notebook/a")).json();
    expect(detail).toMatchObject({ class: "Notebook", name: "a", kind: "agent", live: true, sockets: 0, features: expect.arrayContaining(["state", "sql", "schedules", "sub-agents"]) });
    expect(detail.sizeBytes).toBeGreaterThan(0);
  });

  it("answers 404 for an unknown class or agent, and never creates the agent", async () => {
    const f = await withAgent();
    const unknownClass = await f.api("/api/agents/Nope/a/state");
    expect(unknownClass.status).toBe(404);
    expect(unknownClass.json().error.message).toBe('No agent class "Nope" is registered');
    const missing = await f.api("/api/agents/Notebook/ghost/state");
    expect(missing.status).toBe(404);
    expect(missing.json().error).toEqual({ code: "not_found", message: "Notebook/ghost does not exist (it has no storage)" });
    expect(f.t.host.exists("Notebook", "ghost")).toBe(false);
    const sub = await f.api("/api/agents/Notebook/a/state?sub=Notebook/child");
    expect(sub.status).toBe(404);
    expect(sub.json().error.message).toBe("Notebook/a/Notebook/child does not exist (its parent has no such sub-agent)");
  });

  it("edits state through validateStateChange and a connected client receives it", async () => {
    const f = await withAgent();
    const seen: NotebookState[] = [];
    await f.t.connect<NotebookState>("Notebook", "a", { onStateUpdate: (state) => seen.push(state) });
    expect((await f.api("/api/agents/Notebook/a/state")).json()).toEqual({ state: { count: 2, title: "new" } });
    const put = await f.api("/api/agents/Notebook/a/state", { method: "PUT", as: "admin", body: { state: { count: 7, title: "edited" } } });
    expect(put.json()).toEqual({ state: { count: 7, title: "edited" } });
    await until(() => seen.find((state) => state.count === 7), "the client to receive the edited state");
    const refused = await f.api("/api/agents/Notebook/a/state", { method: "PUT", as: "admin", body: { state: { count: -1, title: "bad" } } });
    expect(refused.status).toBe(400);
    expect(refused.json().error).toEqual({ code: "invalid_state", message: "The agent refused the state: count must be a number of at least 0" });
    expect((await f.api("/api/agents/Notebook/a/state")).json().state.count).toBe(7);
    const audit = (await f.api("/api/audit")).json().items;
    expect(audit[0]).toMatchObject({ role: "admin", action: "state.set", target: "Notebook/a", detail: { ok: false } });
    expect(audit[1]).toMatchObject({ role: "admin", action: "state.set", target: "Notebook/a", detail: { ok: true } });
    expect(audit[1].beforeHash).toMatch(/^[0-9a-f]{32}$/);
    expect(audit[1].afterHash).not.toBe(audit[1].beforeHash);
  });

  it("reads SQL: schema, paged rows with BLOBs summarised, and queries with parameters", async () => {
    const f = await withAgent();
    const stub = f.t.get<Notebook>("Notebook", "a");
    for (const body of ["one", "two", "three"]) await stub.note(body);
    const schema = (await f.api("/api/agents/Notebook/a/sql/schema")).json();
    const notes = schema.tables.find((table: { name: string }) => table.name === "notes");
    expect(notes).toMatchObject({ kind: "table", framework: false, rows: 3, columns: [{ name: "id", type: "INTEGER", pk: true, notnull: false }, { name: "body" }, { name: "data" }] });
    expect(schema.tables[0].name).toBe("notes");
    expect(schema.tables.find((table: { name: string }) => table.name === "_hearth_state").framework).toBe(true);
    const page1 = (await f.api("/api/agents/Notebook/a/sql/tables/notes?limit=2")).json();
    expect(page1.columns).toEqual(["id", "body", "data"]);
    expect(page1.rows).toEqual([[1, "one", { $blob: "010203", size: 3 }], [2, "two", { $blob: "010203", size: 3 }]]);
    const page2 = (await f.api(`/api/agents/Notebook/a/sql/tables/notes?limit=2&cursor=${page1.next}`)).json();
    expect(page2).toMatchObject({ rows: [[3, "three", { $blob: "010203", size: 3 }]], next: null });
    expect((await f.api("/api/agents/Notebook/a/sql/tables/nope")).status).toBe(404);
    const read = (await query(f, "SELECT body FROM notes WHERE id > ? ORDER BY id", { params: [1] })).json();
    expect(read).toEqual({ columns: ["body"], rows: [["two"], ["three"]], rowsAffected: 0, truncated: false });
    const named = (await query(f, "SELECT count(*) AS n FROM notes WHERE body = :body", { params: { body: "one" } })).json();
    expect(named.rows).toEqual([[1]]);
    // Two columns of one name are two cells (rows read as objects kept only the last).
    expect((await query(f, "SELECT 1 AS a, 2 AS a, body FROM notes WHERE id = 1")).json()).toMatchObject({ columns: ["a", "a", "body"], rows: [[1, 2, "one"]] });
    expect((await query(f, "PRAGMA table_info(notes)")).status).toBe(200);
    const error = await query(f, "SELECT nope FROM notes");
    expect(error.status).toBe(400);
    expect(error.json().error.code).toBe("sql_error");
    const two = await query(f, "SELECT 1; SELECT 2");
    expect(two.json().error.message).toBe("One statement per query (got 2) in read-only mode");
  });

  it("caps a read at 1,000 rows and says it was truncated", async () => {
    const f = await withAgent();
    const counting = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) SELECT i FROM n";
    const result = (await query(f, counting, {}, "admin")).json();
    expect(result.rows).toHaveLength(1000);
    expect(result.truncated).toBe(true);
    // A viewer's recursive query is refused, however it is spelled: nothing could stop one that never ends.
    for (const sql of [counting, "WITH c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"]) {
      const refused = await query(f, sql);
      expect(refused.status).toBe(403);
      expect(refused.json().error.code).toBe("recursive_query");
    }
  });

  it("refuses a viewer's query whose work the data's size does not bound, and runs the ones it does", async () => {
    const f = await withAgent();
    for (const body of ["one", "two", "three"]) await f.t.get<Notebook>("Notebook", "a").note(body);
    const costly = [
      "SELECT count(*) FROM notes a, notes b", // a cross join
      "SELECT count(*) FROM notes a JOIN notes b ON a.body < b.body", // a join on an inequality
      "SELECT (SELECT count(*) FROM notes c WHERE c.body > n.body) FROM notes n", // a correlated subquery over the table
      "WITH t AS (SELECT * FROM notes) SELECT count(*) FROM t, t AS u",
      "SELECT count(*) FROM notes a JOIN notes b ON a.body = b.body", // many equal values each: n × m
      "WITH m AS MATERIALIZED (SELECT 0 AS k FROM notes) SELECT count(*) FROM m a JOIN m b ON a.k = b.k", // an index SQLite builds for the query
      "SELECT sum((SELECT count(*) FROM notes b WHERE b.body = a.body)) FROM notes a",
      "SELECT length(ltrim(group_concat(body, ''), 'xyz')) FROM notes",
      "SELECT group_concat(body, ',') OVER (ORDER BY id) FROM notes", // a window's frame grows with every row
      "SELECT length(zeroblob(10))", // the size does not matter: 1e9 would be a gigabyte on the agent's thread
      'SELECT length("ZeroBlob"(10))',
      "SELECT length(printf('%.*c', 10, 'x'))",
      "SELECT length(replace(replace('ab', 'a', 'aaaaaaaaaa'), 'a', 'aaaaaaaaaa'))",
    ];
    for (const sql of costly) {
      const refused = await query(f, sql);
      expect(refused.status, sql).toBe(403);
      expect(refused.json().error.code, sql).toBe("costly_query");
      expect((await query(f, sql, {}, "admin")).status, sql).toBe(200);
    }
    const bounded = [
      "SELECT a.body, b.body FROM notes a JOIN notes b ON a.id = b.id",
      "SELECT body FROM notes UNION ALL SELECT body FROM notes",
      "SELECT group_concat(body, ',') FROM notes",
      "SELECT 'game over', \"over\" FROM (SELECT 1 AS \"over\") -- over",
      "SELECT (SELECT count(*) FROM notes), body FROM notes",
      "SELECT body FROM notes WHERE body IN (SELECT body FROM notes WHERE id > 1)",
      "SELECT body, count(*) FROM notes GROUP BY body ORDER BY 2 DESC",
      "SELECT * FROM pragma_table_info('notes')",
      "SELECT upper(body) FROM notes WHERE id > 1",
      "EXPLAIN SELECT * FROM notes a, notes b",
    ];
    for (const sql of bounded) expect((await query(f, sql)).status, sql).toBe(200);
    expect((await query(f, "SELECT count(*) FROM notes a JOIN notes b ON a.id = b.id")).json().rows).toEqual([[3]]);
    // A unique index finds one row per outer row: the join on body runs once the index exists.
    const joinOnBody = "SELECT count(*) FROM notes a JOIN notes b ON a.body = b.body";
    expect((await query(f, "CREATE UNIQUE INDEX notes_body ON notes(body)", { write: true }, "admin")).status).toBe(200);
    expect((await query(f, joinOnBody)).json().rows).toEqual([[3]]);
  });

  it("allows a PRAGMA in read-only mode only in a form that reads", async () => {
    const f = await withAgent();
    await f.t.get<Notebook>("Notebook", "a").note("keep");
    expect((await query(f, "PRAGMA page_count")).status).toBe(200);
    expect((await query(f, "PRAGMA main.table_info(notes)")).status).toBe(200);
    expect((await query(f, 'PRAGMA "table_info"(\'notes\')')).status).toBe(200);
    // EXPLAIN prepares what it explains, and a PRAGMA takes effect when prepared: checked as itself.
    for (const sql of ["PRAGMA/**/max_page_count=1", 'PRAGMA "ignore_check_constraints" = 1', "PRAGMA cache_size(100)", "PRAGMA max_page_count -- comment\n= 1", "PRAGMA wal_checkpoint", "PRAGMA optimize", "EXPLAIN PRAGMA ignore_check_constraints = ON", "explain query plan PRAGMA recursive_triggers = 1", "EXPLAIN DELETE FROM notes"]) {
      const response = await query(f, sql);
      expect(response.status, sql).toBe(403);
      expect(response.json().error.code, sql).toBe("read_only");
    }
    expect((await query(f, "PRAGMA max_page_count")).json().rows[0][0]).toBeGreaterThan(1_000);
    expect((await query(f, "EXPLAIN QUERY PLAN SELECT * FROM notes")).status).toBe(200);
  });

  it.each([
    ["INSERT INTO notes (body) VALUES ('x')", "INSERT is refused"],
    ["UPDATE notes SET body = 'x'", "UPDATE is refused"],
    ["DELETE FROM notes", "DELETE is refused"],
    ["DROP TABLE notes", "DROP is refused"],
    ["ATTACH DATABASE '/tmp/x.sqlite' AS x", "ATTACH is refused"],
    ["PRAGMA user_version = 5", "PRAGMA user_version in this form is refused"],
    ["WITH x AS (SELECT 1) DELETE FROM notes", "A write is refused"],
    ["CREATE TABLE t (a)", "CREATE is refused"],
  ])("refuses a write in read-only mode: %s", async (sql, message) => {
    const f = await withAgent();
    await f.t.get<Notebook>("Notebook", "a").note("keep");
    const response = await query(f, sql, {}, "admin");
    expect(response.status).toBe(403);
    expect(response.json().error).toEqual({ code: "read_only", message: `${message}: the SQL console is read-only (an admin may send write: true to change data)` });
    expect((await query(f, "SELECT count(*) FROM notes")).json().rows).toEqual([[1]]);
    expect((await query(f, "PRAGMA user_version")).json().rows).toEqual([[1]]);
  });

  it("allows writes to an admin with write: true, in one transaction, audited; a viewer is refused", async () => {
    const f = await withAgent();
    const viewer = await query(f, "INSERT INTO notes (body) VALUES ('v')", { write: true });
    expect(viewer.status).toBe(403);
    expect(viewer.json().error).toEqual({ code: "admin_required", message: "SQL writes need the admin token (write: true was sent with a viewer's credentials)" });
    const write = (await query(f, "INSERT INTO notes (body) VALUES (?)", { params: ["w"], write: true }, "admin")).json();
    expect(write.rowsAffected).toBe(1);
    const failing = await query(f, "INSERT INTO notes (body) VALUES ('first'); INSERT INTO notes (nope) VALUES (1)", { write: true }, "admin");
    expect(failing.status).toBe(400);
    expect((await query(f, "SELECT body FROM notes ORDER BY id")).json().rows).toEqual([["w"]]);
    const both = (await query(f, "INSERT INTO notes (body) VALUES ('x'); UPDATE notes SET body = upper(body)", { write: true }, "admin")).json();
    expect(both.rowsAffected).toBe(3);
    expect((await query(f, "SELECT body FROM notes ORDER BY id")).json().rows).toEqual([["W"], ["X"]]);
    const audit = (await f.api("/api/audit")).json().items;
    expect(audit.map((entry: { action: string; detail: { ok: boolean } }) => [entry.action, entry.detail.ok])).toEqual([
      ["sql.write", true],
      ["sql.write", false],
      ["sql.write", true],
    ]);
    expect(audit[2].detail.sql).toBe("INSERT INTO notes (body) VALUES (?)");
  });

  it("an SQL write to the agent's state is what the agent reads next", async () => {
    const f = await withAgent();
    const before = (await query(f, "SELECT data FROM _hearth_state")).json().rows[0][0] as string;
    const edited = before.replace('"count":2', '"count":40');
    expect(edited).not.toBe(before);
    await query(f, "UPDATE _hearth_state SET data = ?", { params: [edited], write: true }, "admin");
    expect(await f.t.get<Notebook>("Notebook", "a").add(2)).toBe(42);
  });

  it("lists connections, sends to one and closes it", async () => {
    const f = await withAgent();
    const before = Date.now();
    const client = await f.t.connect("Notebook", "a");
    const messages: string[] = [];
    client.addEventListener("message", (event) => messages.push(String((event as MessageEvent).data)));
    const closed = new Promise<number>((resolve) => client.addEventListener("close", (event) => resolve((event as CloseEvent).code)));
    const connections = (await f.api("/api/agents/Notebook/a/connections")).json().items;
    expect(connections).toHaveLength(1);
    const id = connections[0].id;
    expect(connections[0].tags).toEqual([id]);
    expect(connections[0].connectedAt).toBeGreaterThanOrEqual(before);
    expect(connections[0].connectedAt).toBeLessThanOrEqual(Date.now());
    const sent = await f.api(`/api/agents/Notebook/a/connections/${id}/send`, { method: "POST", as: "admin", body: { message: "hello from the inspector" } });
    expect(sent.json()).toEqual({ sent: true });
    await until(() => messages.find((m) => m === "hello from the inspector"), "the message");
    const bad = await f.api(`/api/agents/Notebook/a/connections/${id}/close`, { method: "POST", as: "admin", body: { code: 1006 } });
    expect(bad.json().error.message).toBe("code must be 1000 or from 3000 to 4999 (the close codes an application may send)");
    await f.api(`/api/agents/Notebook/a/connections/${id}/close`, { method: "POST", as: "admin", body: { code: 4001, reason: "bye" } });
    expect(await closed).toBe(4001);
    const missing = await f.api("/api/agents/Notebook/a/connections/nope/send", { method: "POST", as: "admin", body: { message: "x" } });
    expect(missing.status).toBe(404);
  });

  it("lists callable methods and invokes one with JSON arguments", async () => {
    const f = await withAgent();
    const methods = (await f.api("/api/agents/Notebook/a/methods")).json();
    expect(methods).toContainEqual({ name: "add", description: "Adds to the count", streaming: false });
    const result = await f.api("/api/agents/Notebook/a/methods/add", { method: "POST", as: "admin", body: { args: [5] } });
    expect(result.json()).toEqual({ result: 7 });
    const failed = await f.api("/api/agents/Notebook/a/methods/fail", { method: "POST", as: "admin", body: { args: [] } });
    expect(failed.status).toBe(422);
    expect(failed.json().error).toEqual({ code: "method_failed", message: "fail threw: on purpose" });
    const notCallable = await f.api("/api/agents/Notebook/a/methods/tick", { method: "POST", as: "admin", body: { args: [] } });
    expect(notCallable.json().error.message).toBe('Notebook/a has no callable method "tick"');
    const viewer = await f.api("/api/agents/Notebook/a/methods/add", { method: "POST", body: { args: [1] } });
    expect(viewer.status).toBe(403);
  });

  it("lists schedules with next runs, runs one now and cancels one", async () => {
    const f = await withAgent();
    const stub = f.t.get<Notebook>("Notebook", "a");
    const ids = await stub.plan();
    const schedules = (await f.api("/api/agents/Notebook/a/schedules")).json().items;
    const cron = schedules.find((s: { id: string }) => s.id === ids.cron);
    expect(cron).toMatchObject({ callback: "tick", type: "cron", cron: "0 * * * *", payload: { kind: "cron" } });
    expect(cron.nextRuns).toHaveLength(5);
    expect(cron.nextRuns[1] - cron.nextRuns[0]).toBe(3_600_000);
    const ran = await f.api(`/api/agents/Notebook/a/schedules/${ids.once}/run`, { method: "POST", as: "admin" });
    expect(ran.json()).toEqual({ ran: true });
    expect(await stub.ticked()).toContainEqual({ kind: "once" });
    const left = (await f.api("/api/agents/Notebook/a/schedules")).json().items.map((s: { id: string }) => s.id);
    expect(left).toEqual([ids.cron]);
    expect((await f.api(`/api/agents/Notebook/a/schedules/${ids.cron}`, { method: "DELETE", as: "admin" })).json()).toEqual({ cancelled: true });
    expect((await f.api("/api/agents/Notebook/a/schedules")).json()).toEqual({ items: [], next: null });
    const gone = await f.api(`/api/agents/Notebook/a/schedules/${ids.cron}`, { method: "DELETE", as: "admin" });
    expect(gone.status).toBe(404);
    expect((await f.api("/api/audit")).json().items.map((entry: { action: string }) => entry.action)).toEqual(["schedule.cancel", "schedule.cancel", "schedule.run"]);
  });

  it("answers 422 schedule_failed when a schedule run now throws, and audits the failure", async () => {
    const f = await withAgent();
    const id = await f.t.get<Notebook>("Notebook", "a").planFailing();
    const ran = await f.api(`/api/agents/Notebook/a/schedules/${id}/run`, { method: "POST", as: "admin" });
    expect(ran.status).toBe(422);
    expect(ran.json().error).toEqual({ code: "schedule_failed", message: "boom threw: queued work fails on purpose" });
    const [row] = (await f.api("/api/audit")).json().items;
    expect(row).toMatchObject({ action: "schedule.run", target: `Notebook/a#${id}`, ok: false, error: "boom threw: queued work fails on purpose" });
    // The failed run changed nothing: the one-shot schedule is still there, to run when due.
    expect((await f.api("/api/agents/Notebook/a/schedules")).json().items.map((s: { id: string }) => s.id)).toEqual([id]);
  });

  it("lists queued tasks and deletes one", async () => {
    const f = await withAgent();
    const id = await f.t.get<Notebook>("Notebook", "a").queueFailing();
    await f.t.clock.settle(); // its first attempt fails: it waits an hour for the next
    const queue = (await f.api("/api/agents/Notebook/a/queue")).json();
    const item = { id, callback: "boom", payload: { kind: "queued" }, createdAt: expect.any(Number), dueAt: expect.any(Number), attempts: 1, lastError: "queued work fails on purpose" };
    expect(queue).toEqual({ items: [item], next: null });
    expect((await f.api(`/api/agents/Notebook/a/queue/${id}`, { method: "DELETE", as: "admin" })).json()).toEqual({ deleted: true });
    expect((await f.api("/api/agents/Notebook/a/queue")).json()).toEqual({ items: [], next: null });
    const gone = await f.api(`/api/agents/Notebook/a/queue/${id}`, { method: "DELETE", as: "admin" });
    expect(gone.json().error).toEqual({ code: "not_found", message: `Notebook/a has no queued item "${id}"` });
  });

  it("explains bad input: SQL text, params, cursors, limits, streaming methods", async () => {
    const f = await withAgent();
    const error = async (response: Promise<{ json: () => { error: { message: string } } }>) => (await response).json().error.message;
    expect(await error(query(f, ""))).toBe("sql must be a non-empty string");
    expect(await error(query(f, "-- only a comment"))).toBe("sql holds no statement (only comments)");
    expect(await error(query(f, "SELECT 1 " + " ".repeat(100_000)))).toBe("sql is longer than 100000 characters (the inspector's limit)");
    expect(await error(query(f, "SELECT ?", { params: [{ nested: true }] }))).toBe("params[0] must be a string, number, boolean or null");
    expect(await error(query(f, "SELECT ?", { params: "x" }))).toBe("params must be an array (for ?) or an object (for :name)");
    expect(await error(query(f, "SELECT 1; SELECT 2", { params: [1], write: true }, "admin"))).toBe("One statement per query (got 2) when params are given");
    expect(await error(f.api("/api/agents/Notebook/a/sql/tables/notes?cursor=!!"))).toBe("cursor is not a cursor this API gave out");
    expect(await error(f.api("/api/agents/Notebook/a/sql/tables/notes?limit=0"))).toBe('limit must be an integer from 1 to 500, got "0"');
    expect(await error(f.api("/api/agents/Notebook/a/state", { method: "PUT", as: "admin", body: { nope: 1 } }))).toBe("The body must be { state }");
    expect(await error(f.api("/api/agents/Notebook/a/methods/add", { method: "POST", as: "admin", body: { args: 5 } }))).toBe("args must be an array of JSON arguments");
    const streaming = await f.api("/api/agents/Notebook/a/methods/countdown", { method: "POST", as: "admin", body: { args: [3] } });
    expect(streaming.json().error).toEqual({ code: "streaming_method", message: "countdown streams its result: call it over a WebSocket connection" });
    expect(await error(f.api("/api/agents/Notebook/a/schedules/nope/run", { method: "POST", as: "admin" }))).toBe('Notebook/a has no schedule "nope"');
    expect(await error(f.api("/api/agents/Notebook/a/connections/x/send", { method: "POST", as: "admin", body: {} }))).toBe("The body must be { message: string }");
  });

  it("shows an empty chat, no MCP servers and no children for a plain agent", async () => {
    const f = await withAgent();
    expect((await f.api("/api/agents/Notebook/a/chat")).json()).toEqual({ messages: [], next: null, streaming: false });
    expect((await f.api("/api/agents/Notebook/a/mcp")).json()).toEqual({ servers: [] });
    expect((await f.api("/api/agents/Notebook/a/children")).json()).toEqual({ subAgents: [], facets: [] });
    expect((await f.api("/api/agents/Notebook/a/team-runs")).json()).toEqual({ items: [], next: null });
    expect(existsSync(f.t.dataDir)).toBe(true);
  });

  it("answers not_enabled for sections without a source", async () => {
    const f = await withAgent();
    for (const path of ["/api/traces", "/api/logs", "/api/alerts", "/api/metrics"]) {
      const response = await f.api(path);
      expect(response.status, path).toBe(404);
      expect(response.json().error.code, path).toBe("not_enabled");
    }
    expect((await f.api("/api/traces")).json().error.message).toBe("Traces are not enabled in this inspector (no traces source was given to startInspector)");
  });
});
