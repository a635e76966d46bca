import { afterEach, describe, expect, it } from "vitest";
import { INSPECT_EXIT, pretty, runInspectCommand } from "../../src/cli/inspect.ts";
import { startFixture, type Fixture, type Notebook } from "./fixture.ts";

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

async function inspect(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string; json: () => any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  let out = "";
  let err = "";
  const code = await runInspectCommand(argv, process.cwd(), env, { stdout: (text) => (out += text), stderr: (text) => (err += text) });
  return { code, out, err, json: () => JSON.parse(out) };
}

async function live(): Promise<{ f: Fixture; env: NodeJS.ProcessEnv; adminEnv: NodeJS.ProcessEnv }> {
  const f = (fixture = await startFixture());
  await f.t.get<Notebook>("Notebook", "a").add(3);
  const env = { HEARTH_INSPECTOR_URL: f.inspector.url, HEARTH_INSPECTOR_TOKEN: f.inspector.token };
  return { f, env, adminEnv: { ...env, HEARTH_INSPECTOR_ADMIN_TOKEN: f.inspector.adminToken } };
}

describe("hearth inspect", () => {
  it("reads the overview, classes, an agent's state and schema as JSON", async () => {
    const { env } = await live();
    const overview = await inspect(["overview"], env);
    expect(overview.code).toBe(INSPECT_EXIT.ok);
    expect(overview.json().agents.classes[0]).toMatchObject({ class: "Notebook", live: 1 });
    expect((await inspect(["state", "Notebook/a"], env)).json()).toEqual({ state: { count: 3, title: "new" } });
    expect((await inspect(["schema", "Notebook/a"], env)).json().tables[0].name).toBe("notes");
    expect((await inspect(["methods", "Notebook/a"], env)).json()).toContainEqual({ name: "add", description: "Adds to the count", streaming: false });
  });

  it("takes the token from a URL with #token= as the banner prints it", async () => {
    const { f } = await live();
    const result = await inspect(["state", "Notebook/a", "--url", f.inspector.openUrl], {});
    expect(result.json().state.count).toBe(3);
  });

  it("takes a token holding +, %, & and # from the banner's URL, where it is URL-encoded", async () => {
    const token = "viewer+token%41&to=/#x?y-0123";
    const f = (fixture = await startFixture({ token }));
    await f.t.get<Notebook>("Notebook", "a").add(2);
    expect(f.inspector.openUrl).toBe(`${f.inspector.url}#token=${encodeURIComponent(token)}`);
    const result = await inspect(["state", "Notebook/a", "--url", f.inspector.openUrl], {});
    expect(result.err).toBe("");
    expect(result.json().state.count).toBe(2);
  });

  it("changes state and calls methods with the admin token, and is refused without it", async () => {
    const { env, adminEnv } = await live();
    const refused = await inspect(["set-state", "Notebook/a", '{"count":9,"title":"cli"}'], env);
    expect(refused.code).toBe(INSPECT_EXIT.failed);
    expect(refused.err).toBe("hearth inspect: 403 admin_required: PUT /api/agents/Notebook/a/state changes data: it needs the admin token\n");
    expect((await inspect(["set-state", "Notebook/a", '{"count":9,"title":"cli"}'], adminEnv)).json()).toEqual({ state: { count: 9, title: "cli" } });
    expect((await inspect(["call", "Notebook/a", "add", "[1]"], adminEnv)).json()).toEqual({ result: 10 });
    const invalid = await inspect(["set-state", "Notebook/a", '{"count":-1,"title":"x"}'], adminEnv);
    expect(invalid.err).toContain("400 invalid_state: The agent refused the state: count must be a number of at least 0");
  });

  it("runs read-only SQL, refuses a write without --write and admin, and writes with both", async () => {
    const { env, adminEnv } = await live();
    expect((await inspect(["sql", "Notebook/a", "SELECT ? AS x", "--params", "[5]"], env)).json()).toEqual({ columns: ["x"], rows: [[5]], rowsAffected: 0, truncated: false });
    const readOnly = await inspect(["sql", "Notebook/a", "INSERT INTO notes (body) VALUES ('x')"], adminEnv);
    expect(readOnly.err).toContain("403 read_only: INSERT is refused");
    const viewer = await inspect(["sql", "Notebook/a", "INSERT INTO notes (body) VALUES ('x')", "--write"], env);
    expect(viewer.err).toContain("403 admin_required");
    expect((await inspect(["sql", "Notebook/a", "INSERT INTO notes (body) VALUES ('x')", "--write"], adminEnv)).json().rowsAffected).toBe(1);
    expect((await inspect(["audit"], env)).json().items[0]).toMatchObject({ action: "sql.write", role: "admin" });
  });

  it("lists schedules and workflows, and shows one workflow", async () => {
    const { f, env, adminEnv } = await live();
    await f.t.get<Notebook>("Notebook", "a").plan();
    expect((await inspect(["schedules", "Notebook/a"], env)).json().items).toHaveLength(2);
    await f.api("/api/workflows/Approval", { method: "POST", as: "admin", body: { id: "w1", params: { doc: "d" } } });
    expect((await inspect(["workflows", "--workflow", "Approval"], env)).json().items[0]).toMatchObject({ workflow: "Approval", id: "w1" });
    expect((await inspect(["workflow", "Approval/w1"], adminEnv)).json()).toMatchObject({ workflow: "Approval", id: "w1", params: { doc: "d" } });
  });

  it("runs a queued task now with run-queued and the admin token, and is refused without it", async () => {
    const { f, env, adminEnv } = await live();
    const id = await f.t.get<Notebook>("Notebook", "a").queueFailing();
    await f.t.clock.settle(); // its first attempt fails: the next waits an hour
    expect((await inspect(["queue", "Notebook/a"], env)).json().items).toEqual([expect.objectContaining({ id, attempts: 1, lastError: "queued work fails on purpose" })]);
    const refused = await inspect(["run-queued", "Notebook/a", id], env);
    expect(refused.code).toBe(INSPECT_EXIT.failed);
    expect(refused.err).toBe(`hearth inspect: 403 admin_required: POST /api/agents/Notebook/a/queue/${id}/run changes data: it needs the admin token\n`);
    const ran = await inspect(["run-queued", "Notebook/a", id], adminEnv);
    expect(ran.code).toBe(INSPECT_EXIT.ok);
    expect(ran.json()).toEqual({ queued: "now" });
    await f.t.clock.settle();
    // Its next attempt ran at once (virtual time did not move), and failed as its callback always does.
    expect((await inspect(["queue", "Notebook/a"], env)).json().items).toEqual([expect.objectContaining({ id, attempts: 2 })]);
    expect((await inspect(["audit"], env)).json().items[0]).toMatchObject({ action: "queue.run", role: "admin", target: `Notebook/a#${id}` });
    const missing = await inspect(["run-queued", "Notebook/a"], adminEnv);
    expect(missing.code).toBe(INSPECT_EXIT.usage);
    expect(missing.err).toContain("run-queued needs <Class>/<name> <queued id>");
  });

  it("prints tables with --pretty", async () => {
    const { env } = await live();
    const table = await inspect(["classes", "--pretty"], env);
    expect(table.out.split("\n")[0]).toMatch(/^class\s+binding\s+kind\s+live/);
    expect(pretty({ items: [] })).toBe("(none)\n");
    expect(pretty({ a: 1, b: "x" })).toBe("a: 1\nb: x\n");
  });

  it("explains usage errors with exit status 2", async () => {
    expect((await inspect([], {})).code).toBe(INSPECT_EXIT.usage);
    const noUrl = await inspect(["overview"], {});
    expect(noUrl.code).toBe(INSPECT_EXIT.usage);
    expect(noUrl.err).toContain("The inspector's URL is missing: pass --url or set HEARTH_INSPECTOR_URL");
    const noToken = await inspect(["overview", "--url", "http://127.0.0.1:1/"], {});
    expect(noToken.err).toContain("The inspector's token is missing");
    const unknown = await inspect(["frobnicate", "--url", "http://127.0.0.1:1/", "--token", "x"], {});
    expect(unknown.err).toContain('Unknown command "frobnicate"');
    const address = await inspect(["state", "Notebook", "--url", "http://127.0.0.1:1/", "--token", "x"], {});
    expect(address.err).toContain('Expected <Class>/<name>, got "Notebook"');
    expect((await inspect(["--help"], {})).code).toBe(INSPECT_EXIT.ok);
  });

  it("says when the inspector cannot be reached", async () => {
    const result = await inspect(["overview", "--url", "http://127.0.0.1:1/", "--token", "x"], {});
    expect(result.code).toBe(INSPECT_EXIT.failed);
    expect(result.err).toContain("Cannot reach the inspector at http://127.0.0.1:1");
  });
});
