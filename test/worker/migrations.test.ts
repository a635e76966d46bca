/**
 * Durable Object migrations against real data: a renamed class keeps its agents' state and SQL, a
 * deleted class loses its files and its rows in the host's schedule index, the recorded history
 * is matched as wrangler matches it (warnings, never a silent re-run), and the declarative `exports` form is applied once per
 * change whatever the order.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import type { MigrationStep } from "../../src/config/types.ts";
import { Agent, Host, type AgentNamespace } from "../../src/index.ts";
import { VirtualClock } from "../../src/time/clock.ts";
import { bindClasses } from "../../src/worker/classes.ts";
import { applyMigrations, planMigrations } from "../../src/worker/migrations.ts";
import { thrown } from "../support/thrown.ts";
import { projectConfig, step, useTempDirs } from "./helpers.ts";

class Notebook extends Agent<Record<string, unknown>, { notes: number }> {
  initialState = { notes: 0 };
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS notes (text TEXT)`;
  }
  write(text: string) {
    this.sql`INSERT INTO notes VALUES (${text})`;
    this.setState({ notes: this.state.notes + 1 });
  }
  read() {
    return { state: this.state, notes: this.sql<{ text: string }>`SELECT text FROM notes ORDER BY rowid`.map((row) => row.text) };
  }
  remindIn(seconds: number) {
    return this.schedule(seconds, "remind");
  }
  remind() {}
}
// Three distinct classes with the same behaviour: what a rename or a second class looks like.
class OldName extends Notebook {}
class NewName extends Notebook {}
class Keeper extends Notebook {}

const newDir = useTempDirs();
const clock = new VirtualClock({ start: Date.parse("2030-01-01T00:00:00Z") });
const hosts: Host[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.close();
});

/** Applies `migrations`, binds `bindings` (binding → class) from `exports` and starts a host on them. */
function start(dataDir: string, migrations: MigrationStep[], bindings: Record<string, string>, exports: Record<string, unknown>) {
  const config = projectConfig({
    migrations,
    durableObjects: Object.entries(bindings).map(([name, className]) => ({ name, className })),
  });
  const outcome = applyMigrations(dataDir, migrations, config.path);
  const bound = bindClasses(config, exports, "src/index.ts", outcome.storage);
  const host = new Host({ dataDir, agents: bound.agents, storageNames: bound.storageNames, clock });
  hosts.push(host);
  const agent = (binding: string, name: string) => (host.env[binding] as AgentNamespace<Notebook>).getByName(name);
  return { outcome, bound, host, agent };
}

async function stop(host: Host): Promise<void> {
  hosts.splice(hosts.indexOf(host), 1);
  await host.close();
}

function dueSlugs(dataDir: string): string[] {
  const db = new DatabaseSync(join(dataDir, "host.sqlite"), { readOnly: true });
  try {
    return (db.prepare("SELECT slug FROM due ORDER BY slug").all() as { slug: string }[]).map((row) => row.slug);
  } finally {
    db.close();
  }
}

const v1 = step("v1", { newSqliteClasses: ["OldName", "Keeper"] });
const v2 = step("v2", { renamedClasses: [{ from: "OldName", to: "NewName" }] });

describe("renamed_classes", () => {
  it("serves the renamed class from the old class's data, and a second apply changes nothing", async () => {
    const dataDir = newDir();
    const first = start(dataDir, [v1], { AGENT: "OldName" }, { OldName });
    expect(first.outcome).toMatchObject({ applied: ["v1"], storage: {} });
    await first.agent("AGENT", "alice").write("kept");
    await first.agent("AGENT", "alice").write("also kept");
    await stop(first.host);

    const second = start(dataDir, [v1, v2], { AGENT: "NewName" }, { NewName });
    expect(second.outcome).toMatchObject({ applied: ["v2"], storage: { NewName: "old-name" } });
    expect(second.bound.storageNames).toEqual({ AGENT: "old-name" });
    expect(await second.agent("AGENT", "alice").read()).toEqual({ state: { notes: 2 }, notes: ["kept", "also kept"] });
    await second.agent("AGENT", "alice").write("after the rename");
    await stop(second.host);

    const third = start(dataDir, [v1, v2], { AGENT: "NewName" }, { NewName });
    expect(third.outcome).toMatchObject({ applied: [], storage: { NewName: "old-name" } });
    expect(await third.agent("AGENT", "alice").read()).toEqual({ state: { notes: 3 }, notes: ["kept", "also kept", "after the rename"] });
  });

  it("keeps the data through a rename of a rename, and drops the pointer when a class gets its first name back", async () => {
    const dataDir = newDir();
    const first = start(dataDir, [v1], { AGENT: "OldName" }, { OldName });
    await first.agent("AGENT", "bob").write("original");
    await stop(first.host);

    const v3 = step("v3", { renamedClasses: [{ from: "NewName", to: "Keeper2" }] });
    class Keeper2 extends Notebook {}
    const chained = start(dataDir, [v1, v2, v3], { AGENT: "Keeper2" }, { Keeper2 });
    expect(chained.outcome).toMatchObject({ applied: ["v2", "v3"], storage: { Keeper2: "old-name" } });
    expect((await chained.agent("AGENT", "bob").read()).notes).toEqual(["original"]);
    await stop(chained.host);

    const v4 = step("v4", { renamedClasses: [{ from: "Keeper2", to: "OldName" }] });
    const back = start(dataDir, [v1, v2, v3, v4], { AGENT: "OldName" }, { OldName });
    expect(back.outcome).toMatchObject({ applied: ["v4"], storage: {} });
    expect((await back.agent("AGENT", "bob").read()).notes).toEqual(["original"]);
  });

  it("moves nothing when the old class has no data, so the target keeps its own", async () => {
    const dataDir = newDir();
    const first = start(dataDir, [], { AGENT: "NewName" }, { NewName });
    await first.agent("AGENT", "erin").write("new-name's own");
    await stop(first.host);
    const second = start(dataDir, [v1, v2], { AGENT: "NewName" }, { NewName });
    expect(second.outcome).toMatchObject({ applied: ["v1", "v2"], storage: {} });
    expect((await second.agent("AGENT", "erin").read()).notes).toEqual(["new-name's own"]);
  });

  it("refuses to point a class that has agents of its own at another class's data, and changes nothing", async () => {
    const dataDir = newDir();
    const first = start(dataDir, [v1], { OLD: "OldName", NEW: "NewName" }, { OldName, NewName });
    await first.agent("OLD", "frank").write("old data");
    await first.agent("NEW", "frank").write("new data");
    await stop(first.host);
    const error = thrown(() => applyMigrations(dataDir, [v1, v2], "wrangler.jsonc"));
    expect(error.message).toBe(
      `wrangler.jsonc: migration "v2" renames OldName to NewName, but NewName already has agents of its own ` +
        `(${join(dataDir, "agents", "new-name")}). A rename's target must be a new class: remove that directory if its agents ` +
        "are not needed, or rename to another name. Nothing was changed.",
    );
    const again = start(dataDir, [v1], { OLD: "OldName", NEW: "NewName" }, { OldName, NewName });
    expect(again.outcome).toMatchObject({ applied: [], storage: {} });
    expect((await again.agent("OLD", "frank").read()).notes).toEqual(["old data"]);
    expect((await again.agent("NEW", "frank").read()).notes).toEqual(["new data"]);
  });

  it("gives a new class that takes a renamed class's old name a directory of its own", async () => {
    const dataDir = newDir();
    const first = start(dataDir, [v1], { AGENT: "OldName" }, { OldName });
    await first.agent("AGENT", "gina").write("moved to NewName");
    await stop(first.host);
    const v3 = step("v3", { newSqliteClasses: ["OldName"] });
    const second = start(dataDir, [v1, v2, v3], { NEW: "NewName", OLD: "OldName" }, { NewName, OldName });
    expect(second.outcome).toMatchObject({ applied: ["v2", "v3"], storage: { NewName: "old-name", OldName: "old-name-2" } });
    expect((await second.agent("NEW", "gina").read()).notes).toEqual(["moved to NewName"]);
    expect((await second.agent("OLD", "gina").read()).notes).toEqual([]);
    await second.agent("OLD", "gina").write("a fresh OldName");
    expect((await second.agent("NEW", "gina").read()).notes).toEqual(["moved to NewName"]);
  });

  it("records the history in migrations.json", () => {
    const dataDir = newDir();
    mkdirSync(join(dataDir, "agents", "old-name"), { recursive: true });
    applyMigrations(dataDir, [v1, v2], "wrangler.jsonc");
    expect(JSON.parse(readFileSync(join(dataDir, "migrations.json"), "utf8"))).toEqual({
      applied: ["v1", "v2"],
      storage: { NewName: "old-name" },
    });
  });
});

describe("deleted_classes", () => {
  it("removes the class's agents and their schedule-index rows, and leaves other classes alone", async () => {
    const dataDir = newDir();
    const first = start(dataDir, [v1], { AGENT: "OldName", KEEPER: "Keeper" }, { OldName, Keeper });
    await first.agent("AGENT", "doomed").write("gone soon");
    await first.agent("AGENT", "doomed").remindIn(3600);
    await first.agent("KEEPER", "kept").write("stays");
    await first.agent("KEEPER", "kept").remindIn(3600);
    await stop(first.host);
    expect(dueSlugs(dataDir)).toEqual(["keeper", "old-name"]);
    expect(existsSync(join(dataDir, "agents", "old-name"))).toBe(true);

    const v3 = step("v3", { deletedClasses: ["OldName"] });
    const second = start(dataDir, [v1, v3], { KEEPER: "Keeper" }, { Keeper });
    expect(second.outcome.applied).toEqual(["v3"]);
    expect(existsSync(join(dataDir, "agents", "old-name"))).toBe(false);
    expect(second.host.pendingTasks.agents).toBe(1);
    expect(await second.agent("KEEPER", "kept").read()).toEqual({ state: { notes: 1 }, notes: ["stays"] });
    await stop(second.host); // the host holds its index file exclusively while it runs
    expect(dueSlugs(dataDir)).toEqual(["keeper"]);
  });

  it("deletes a renamed class's data from where the rename left it", async () => {
    const dataDir = newDir();
    const first = start(dataDir, [v1, v2], { AGENT: "NewName" }, { NewName });
    await first.agent("AGENT", "carol").write("under old-name");
    await first.agent("AGENT", "carol").remindIn(60);
    await stop(first.host);

    const v3 = step("v3", { deletedClasses: ["NewName"] });
    const outcome = applyMigrations(dataDir, [v1, v2, v3], "wrangler.jsonc");
    expect(outcome).toMatchObject({ applied: ["v3"], storage: {} });
    expect(existsSync(join(dataDir, "agents", "old-name"))).toBe(false);
    expect(dueSlugs(dataDir)).toEqual([]);
  });

  it("changes nothing on disk until a plan is committed", () => {
    const dataDir = newDir();
    mkdirSync(join(dataDir, "agents", "old-name"), { recursive: true });
    const plan = planMigrations(dataDir, [v1, step("v3", { deletedClasses: ["OldName"] })], "wrangler.jsonc");
    expect(plan.applied).toEqual(["v1", "v3"]);
    expect(existsSync(join(dataDir, "agents", "old-name"))).toBe(true);
    expect(existsSync(join(dataDir, "migrations.json"))).toBe(false);
    plan.commit();
    expect(existsSync(join(dataDir, "agents", "old-name"))).toBe(false);
    expect(JSON.parse(readFileSync(join(dataDir, "migrations.json"), "utf8"))).toMatchObject({ applied: ["v1", "v3"], storage: {} });
  });

  it("checks every new step before deleting anything", () => {
    const dataDir = newDir();
    for (const storage of ["keeper", "old-name", "new-name"]) mkdirSync(join(dataDir, "agents", storage), { recursive: true });
    applyMigrations(dataDir, [v1], "wrangler.jsonc");
    // v3 is refused (its target has agents of its own): v2's deletion must not have happened either.
    const steps = [v1, step("v2", { deletedClasses: ["Keeper"] }), step("v3", { renamedClasses: [{ from: "OldName", to: "NewName" }] })];
    expect(() => applyMigrations(dataDir, steps, "wrangler.jsonc")).toThrow(/"v3" renames OldName to NewName, but NewName already has agents/);
    expect(existsSync(join(dataDir, "agents", "keeper"))).toBe(true);
    expect(JSON.parse(readFileSync(join(dataDir, "migrations.json"), "utf8"))).toMatchObject({ applied: ["v1"], storage: {} });
  });

  it("works on a data directory that has no agents and no host.sqlite yet", () => {
    const dataDir = newDir();
    const outcome = applyMigrations(dataDir, [v1, step("v2", { deletedClasses: ["OldName"] })], "wrangler.jsonc");
    expect(outcome.applied).toEqual(["v1", "v2"]);
    expect(existsSync(join(dataDir, "host.sqlite"))).toBe(false);
  });
});

describe("a history the config no longer matches (as wrangler treats it)", () => {
  it("warns of applied steps no longer listed, keeps what they did, and applies what follows the last listed one", async () => {
    const dataDir = newDir();
    const first = start(dataDir, [v1, v2], { KEEP: "Keeper" }, { Keeper });
    await first.agent("KEEP", "kim").write("kept");
    await first.host.close();

    const shortened = planMigrations(dataDir, [v1], "wrangler.jsonc");
    expect(shortened.applied).toEqual([]);
    expect(shortened.warnings).toEqual([
      `wrangler.jsonc: migration "v2" applied to ${dataDir} is no longer listed in migrations; what they did stays (migrations are append-only: add new steps at the end).`,
    ]);

    // v2 replaced by v2b after v1: wrangler sends v2b, the step after the last applied tag it finds.
    const v2b = step("v2b", { newSqliteClasses: ["NewName"] });
    const replaced = applyMigrations(dataDir, [v1, v2b], "wrangler.jsonc");
    expect(replaced.applied).toEqual(["v2b"]);
    expect(replaced.warnings).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(dataDir, "migrations.json"), "utf8")).applied).toEqual(["v1", "v2", "v2b"]);

    // A step put before an applied one is skipped, as wrangler never sends it; reordering applied steps changes nothing.
    const early = step("v0", { deletedClasses: ["Keeper"] });
    const inserted = planMigrations(dataDir, [early, v1, v2, v2b], "wrangler.jsonc");
    expect(inserted.applied).toEqual([]);
    expect(inserted.warnings).toEqual([`wrangler.jsonc: migration "v0" comes before "v2b", which is applied: skipped, as wrangler skips them. Add new steps at the end.`]);
    expect(planMigrations(dataDir, [v2b, v2, v1], "wrangler.jsonc")).toMatchObject({ applied: [], warnings: [] });
    const again = start(dataDir, [early, v1, v2, v2b], { KEEP: "Keeper" }, { Keeper });
    expect((await again.agent("KEEP", "kim").read()).notes).toEqual(["kept"]);
  });

  it("with none of the applied tags listed, applies the new steps but refuses a deletion of a class that has agents", async () => {
    const dataDir = newDir();
    const first = start(dataDir, [v1, v2], { KEEP: "Keeper" }, { Keeper });
    await first.agent("KEEP", "kim").write("kept");
    await first.host.close();
    const before = readFileSync(join(dataDir, "migrations.json"), "utf8");

    const deletion = thrown(() => applyMigrations(dataDir, [step("w1", { newSqliteClasses: ["NewName"] }), step("w2", { deletedClasses: ["Keeper"] })], "wrangler.jsonc"));
    expect(deletion.message).toBe(
      `wrangler.jsonc: migration "w2" deletes class Keeper, but none of the migrations applied to ${dataDir} (v1, v2) is listed any more, ` +
        `so its agents (${join(dataDir, "agents", "keeper")}) may be newer than this deletion. Nothing was changed: list the applied migrations again, or remove that directory yourself.`,
    );
    expect(readFileSync(join(dataDir, "migrations.json"), "utf8")).toBe(before);
    expect(existsSync(join(dataDir, "agents", "keeper"))).toBe(true);

    const fresh = applyMigrations(dataDir, [step("w1", { newSqliteClasses: ["NewName"] })], "wrangler.jsonc");
    expect(fresh.applied).toEqual(["w1"]);
    expect(fresh.warnings[0]).toContain('migrations "v1", "v2" applied to');
  });

  it("applies steps appended later, and only those", () => {
    const dataDir = newDir();
    expect(applyMigrations(dataDir, [v1], "wrangler.jsonc").applied).toEqual(["v1"]);
    expect(applyMigrations(dataDir, [v1, v2], "wrangler.jsonc")).toMatchObject({ applied: ["v2"], warnings: [] });
    expect(applyMigrations(dataDir, [v1, v2], "wrangler.jsonc").applied).toEqual([]);
  });
});

describe("the declarative exports form", () => {
  const rename = step("exports:rename:OldName:NewName", { renamedClasses: [{ from: "OldName", to: "NewName" }] });
  const create = step("exports:create:NewName", { newSqliteClasses: ["NewName"] });
  const createKeeper = step("exports:create:Keeper", { newSqliteClasses: ["Keeper"] });

  it("applies each change once, however the list is ordered or grows", async () => {
    const dataDir = newDir();
    const first = start(dataDir, [step("exports:create:OldName", { newSqliteClasses: ["OldName"] })], { AGENT: "OldName" }, { OldName });
    await first.agent("AGENT", "dave").write("before");
    await stop(first.host);

    const second = start(dataDir, [rename, create], { AGENT: "NewName" }, { NewName });
    expect(second.outcome).toMatchObject({ applied: ["exports:rename:OldName:NewName", "exports:create:NewName"], storage: { NewName: "old-name" } });
    expect((await second.agent("AGENT", "dave").read()).notes).toEqual(["before"]);
    await stop(second.host);

    // The same declaration written in another order, then with a class added: nothing is applied twice.
    expect(applyMigrations(dataDir, [create, rename], "wrangler.jsonc")).toMatchObject({ applied: [], storage: { NewName: "old-name" } });
    expect(applyMigrations(dataDir, [createKeeper, create, rename], "wrangler.jsonc")).toMatchObject({
      applied: ["exports:create:Keeper"],
      storage: { NewName: "old-name" },
    });
  });

  it("takes over a data directory whose history came from the migrations list", () => {
    const dataDir = newDir();
    mkdirSync(join(dataDir, "agents", "old-name"), { recursive: true });
    applyMigrations(dataDir, [v1], "wrangler.jsonc");
    expect(applyMigrations(dataDir, [rename, create], "wrangler.jsonc")).toMatchObject({
      applied: ["exports:rename:OldName:NewName", "exports:create:NewName"],
      storage: { NewName: "old-name" },
    });
  });
});

describe("the state file", () => {
  it("treats a state file without fields as empty", () => {
    const dataDir = newDir();
    writeFileSync(join(dataDir, "migrations.json"), "{}");
    expect(applyMigrations(dataDir, [v1], "wrangler.jsonc")).toMatchObject({ applied: ["v1"], storage: {} });
  });
});
