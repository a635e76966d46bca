import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DurableObject, VirtualClock, type DurableObjectNamespace, type DurableObjectState } from "../../src/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";

const alarms: string[] = [];

class TenantStore extends DurableObject {
  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS notes (text TEXT)");
  }

  add(text: string): number {
    this.ctx.storage.sql.exec("INSERT INTO notes (text) VALUES (?)", text);
    return this.count();
  }

  count(): number {
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM notes").one().n;
  }

  idInfo(): { id: string; name: string | undefined } {
    return { id: this.ctx.id.toString(), name: this.ctx.id.name };
  }

  async remindIn(ms: number): Promise<void> {
    await this.ctx.storage.setAlarm(Date.now() + ms);
  }

  alarm(): void {
    alarms.push(this.ctx.id.name ?? this.ctx.id.toString());
  }

  fetch(request: Request): Response {
    return Response.json({ path: new URL(request.url).pathname, count: this.count() });
  }

  nestTo(depth: number): Promise<number> | number {
    if (depth === 0) return 0;
    const child = this.ctx.facets.get(`level-${depth}`, () => ({ class: this.ctx.exports.Stores, id: `level-${depth}` }));
    return (child as unknown as TenantStore).nestTo(depth - 1);
  }
}

class Supervisor extends DurableObject {
  #tenant(name: string) {
    return this.ctx.facets.get<TenantStore>(name, () => ({ class: this.ctx.exports.Stores, id: name }));
  }

  add(name: string, text: string): Promise<number> {
    return this.#tenant(name).add(text);
  }

  count(name: string): Promise<number> {
    return this.#tenant(name).count();
  }

  idOf(name: string, inherit: boolean): Promise<{ id: string; name: string | undefined }> {
    const stub = inherit ? this.ctx.facets.get<TenantStore>(name, () => ({ class: this.ctx.exports.Stores })) : this.#tenant(name);
    return stub.idInfo();
  }

  async fetchTenant(name: string): Promise<unknown> {
    return (await this.#tenant(name).fetch("http://facet/notes")).json();
  }

  async abortThenUseOld(name: string): Promise<string> {
    const stub = this.#tenant(name);
    await stub.count();
    this.ctx.facets.abort(name, new Error("suspended by the operator"));
    try {
      await stub.count();
      return "old stub still works";
    } catch (error) {
      return (error as Error).message;
    }
  }

  remove(name: string): void {
    this.ctx.facets.delete(name);
  }

  copy(from: string, to: string): void {
    this.ctx.facets.clone(from, to);
  }

  remind(name: string, ms: number): Promise<void> {
    return this.#tenant(name).remindIn(ms);
  }

  nest(depth: number): Promise<number> {
    return this.#tenant("root-child").nestTo(depth);
  }

  badName(name: string): string {
    try {
      this.ctx.facets.get(name, () => ({ class: this.ctx.exports.Stores }));
      return "accepted";
    } catch (error) {
      return (error as Error).message;
    }
  }

  async wipe(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  alarms.length = 0;
});

function supervisor(h: Harness, name = "main") {
  return (h.host.env.Supervisors as DurableObjectNamespace<Supervisor>).getByName(name);
}

function sqliteFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).filter((file) => file.endsWith(".sqlite"));
}

describe("facets", () => {
  it("gives each facet its own database, invisible to its parent and siblings", async () => {
    harness = await startHarness({}, { durableObjects: { Supervisors: Supervisor, Stores: TenantStore } });
    const sup = supervisor(harness);
    expect(await sup.add("acme", "a1")).toBe(1);
    expect(await sup.add("acme", "a2")).toBe(2);
    expect(await sup.add("globex", "g1")).toBe(1);
    expect(await sup.count("acme")).toBe(2);
    expect(await sup.fetchTenant("globex")).toEqual({ path: "/notes", count: 1 });
    const files = sqliteFiles(join(harness.dataDir, "agents", "supervisors"));
    expect(files.filter((file) => file.includes(".facets"))).toHaveLength(2);
    expect(await sup.idOf("acme", false)).toMatchObject({ id: "acme", name: undefined });
    const parentId = (harness.host.env.Supervisors as DurableObjectNamespace).idFromName("main").toString();
    expect(await sup.idOf("inheriting", true)).toEqual({ id: parentId, name: "main" });
  });

  it("aborts a facet (old stubs throw the reason, data kept) and deletes one (files gone)", async () => {
    harness = await startHarness({}, { durableObjects: { Supervisors: Supervisor, Stores: TenantStore } });
    const sup = supervisor(harness);
    await sup.add("acme", "kept");
    expect(await sup.abortThenUseOld("acme")).toBe("suspended by the operator");
    expect(await sup.count("acme")).toBe(1);
    await sup.remove("acme");
    expect(sqliteFiles(join(harness.dataDir, "agents", "supervisors")).filter((f) => f.includes(".facets"))).toEqual([]);
    expect(await sup.count("acme")).toBe(0);
  });

  it("clones a facet's data onto another", async () => {
    harness = await startHarness({}, { durableObjects: { Supervisors: Supervisor, Stores: TenantStore } });
    const sup = supervisor(harness);
    await sup.add("template", "t1");
    await sup.add("template", "t2");
    await sup.add("copy", "overwritten");
    await sup.copy("template", "copy");
    expect(await sup.count("copy")).toBe(2);
    expect(await sup.add("copy", "own")).toBe(3);
    expect(await sup.count("template")).toBe(2);
  });

  it("enforces name and depth limits with Cloudflare's messages", async () => {
    harness = await startHarness({}, { durableObjects: { Supervisors: Supervisor, Stores: TenantStore } });
    const sup = supervisor(harness);
    expect(await sup.badName("x".repeat(257))).toBe("Facet name is too long (max 256 characters).");
    expect(await sup.badName("x".repeat(256))).toBe("accepted");
    expect(await sup.nest(2)).toBe(0); // root → root-child → level-2 → level-1: depth 4
    await expect(sup.nest(3)).rejects.toThrow(
      "Facet nesting depth limit exceeded. The maximum depth including the root Durable Object is 4.",
    );
  });

  it("delivers a facet's own alarm, even while its parent sleeps", async () => {
    const clock = new VirtualClock({ start: Date.now() });
    harness = await startHarness({}, { durableObjects: { Supervisors: Supervisor, Stores: TenantStore }, clock });
    const sup = supervisor(harness);
    await sup.remind("acme", 30_000);
    harness.host.hibernateIdleAgents();
    await clock.advance("31 s");
    await harness.host.tasksIdle();
    expect(alarms).toEqual(["acme"]);
  });

  it("deleteAll on the parent takes its facets' data with it", async () => {
    harness = await startHarness({}, { durableObjects: { Supervisors: Supervisor, Stores: TenantStore } });
    const sup = supervisor(harness);
    await sup.add("acme", "x");
    await sup.wipe();
    const dirs = readdirSync(join(harness.dataDir, "agents", "supervisors"), { recursive: true }).map(String);
    expect(dirs.some((entry) => entry.endsWith(".facets") && existsSync(join(harness!.dataDir, "agents", "supervisors", entry)))).toBe(false);
    expect(await sup.count("acme")).toBe(0);
  });
});
