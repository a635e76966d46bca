import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { AgentCatalog } from "../../src/host/catalog.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";

class Chat extends Agent {
  ping() {
    return "pong";
  }
  async remove() {
    await this.destroy();
  }
}

class Mailer extends Agent {
  ping() {
    return "pong";
  }
}

const START = Date.UTC(2026, 0, 1);
let t: TestEnv | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await t?.close();
  t = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hearth-catalog-"));
  dirs.push(dir);
  return dir;
}

async function start(dir = dataDir()): Promise<TestEnv> {
  t = await createTestEnv({ agents: { Chat, Mailer }, dataDir: dir, start: START });
  return t;
}

async function touch(env: TestEnv, binding: string, ...names: string[]): Promise<void> {
  for (const name of names) await env.get<Chat>(binding, name).ping();
}

const names = (page: { items: Array<{ name: string }> }) => page.items.map((item) => item.name);

describe("the agent catalog of a host", () => {
  it("lists, counts and finds the agents the host created, across a restart", async () => {
    const env = await start();
    await touch(env, "Chat", "ada", "bob", "Adam", "zoë");
    await touch(env, "Mailer", "ada");
    const { catalog } = env.host;
    expect(catalog.countByClass()).toEqual([
      { class: "Chat", total: 4 },
      { class: "Mailer", total: 1 },
    ]);
    expect(names(catalog.list({ class: "Chat" }))).toEqual(["Adam", "ada", "bob", "zoë"]);
    expect(catalog.has("Chat", "bob")).toBe(true);
    expect(catalog.has("Mailer", "bob")).toBe(false);
    await env.restart();
    const after = env.host.catalog;
    expect(after.get("Chat", "ada")).toEqual({ class: "Chat", name: "ada", createdAt: START, lastActiveAt: START });
    expect(names(after.list({ class: "Chat", q: "ad" }))).toEqual(["Adam", "ada"]); // substring, ASCII case ignored
    expect(names(after.list({ class: "Chat", q: "o" }))).toEqual(["bob", "zoë"]);
    expect(after.list({ q: "ada" }).items).toEqual([
      { class: "Chat", name: "Adam", createdAt: START, lastActiveAt: START },
      { class: "Chat", name: "ada", createdAt: START, lastActiveAt: START },
      { class: "Mailer", name: "ada", createdAt: START, lastActiveAt: START },
    ]);
    expect(names(after.list({ q: "%" }))).toEqual([]); // LIKE's wildcards are plain text
  });

  it("pages through agents with a cursor across classes", async () => {
    const env = await start();
    await touch(env, "Chat", "a", "b", "c");
    await touch(env, "Mailer", "a", "b");
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = env.host.catalog.list({ limit: 2, cursor });
      seen.push(...page.items.map((item) => `${item.class}/${item.name}`));
      cursor = page.next ?? undefined;
    } while (cursor);
    expect(seen).toEqual(["Chat/a", "Chat/b", "Chat/c", "Mailer/a", "Mailer/b"]);
  });

  it("moves lastActiveAt when an agent hibernates or wakes, keeping createdAt", async () => {
    const env = await start();
    await touch(env, "Chat", "ada");
    await env.clock.advance("1 hour");
    expect(env.hibernate()).toBe(1);
    expect(env.host.catalog.get("Chat", "ada")).toEqual({ class: "Chat", name: "ada", createdAt: START, lastActiveAt: START + 3_600_000 });
    await env.clock.advance("1 hour");
    await touch(env, "Chat", "ada");
    expect(env.host.catalog.get("Chat", "ada")!.lastActiveAt).toBe(START + 7_200_000);
    await env.clock.advance("1 hour");
    await env.restart(); // closing the host counts as leaving memory
    expect(env.host.catalog.get("Chat", "ada")!.lastActiveAt).toBe(START + 3 * 3_600_000);
  });

  it("forgets a destroyed agent", async () => {
    const env = await start();
    await touch(env, "Chat", "gone", "kept");
    await env.get<Chat>("Chat", "gone").remove();
    expect(env.host.catalog.has("Chat", "gone")).toBe(false);
    expect(names(env.host.catalog.list())).toEqual(["kept"]);
    await env.restart();
    expect(env.host.catalog.has("Chat", "gone")).toBe(false);
  });

  it("lists the agents of a data directory from before the catalog, reading their stored names", async () => {
    const dir = dataDir();
    const env = await start(dir);
    const hostile = ["../../etc/passwd", "a/b\\c", "名前", " spaced "];
    await touch(env, "Chat", ...hostile);
    await touch(env, "Mailer", "m1");
    await env.close();
    t = undefined;
    rmSync(join(dir, "catalog.sqlite"));
    rmSync(join(dir, "catalog.sqlite-wal"), { force: true });
    const again = await start(dir);
    expect(existsSync(join(dir, "catalog.sqlite"))).toBe(true);
    expect(again.host.catalog.countByClass()).toEqual([
      { class: "Chat", total: 4 },
      { class: "Mailer", total: 1 },
    ]);
    expect(names(again.host.catalog.list({ class: "Chat" }))).toEqual([...hostile].sort());
    const backfilled = again.host.catalog.get("Mailer", "m1")!;
    expect(backfilled.createdAt).toBeGreaterThan(0);
    expect(backfilled.lastActiveAt).toBeGreaterThanOrEqual(backfilled.createdAt);
  });

  it("refuses bad list queries with errors that name the limit, and keeps its entries", async () => {
    const env = await start();
    await touch(env, "Chat", "ada");
    const { catalog } = env.host;
    expect(() => catalog.list({ limit: 501 })).toThrow("limit must be a whole number from 1 to 500, got 501");
    expect(() => catalog.list({ limit: 0 })).toThrow("limit must be a whole number from 1 to 500, got 0");
    expect(() => catalog.list({ q: "x".repeat(257) })).toThrow("q is at most 256 characters, got 257");
    expect(() => catalog.list({ cursor: "bogus" })).toThrow('Invalid cursor "bogus": pass the "next" of a previous page');
    expect(names(catalog.list())).toEqual(["ada"]);
  });
});

describe("AgentCatalog on its own", () => {
  it("coalesces changes per agent until the end of the turn, and reads see them at once", () => {
    const dir = dataDir();
    let now = 10;
    const catalog = new AgentCatalog({ dataDir: dir, clock: { now: () => now } });
    const place = { rootSlug: "chat", rootName: "ada", path: [], file: "" };
    catalog.opened(place);
    now = 20;
    catalog.left(place);
    catalog.opened({ ...place, path: ["child"] }); // children are their root's business
    expect(catalog.list().items).toEqual([{ class: "chat", name: "ada", createdAt: 20, lastActiveAt: 20 }]);
    catalog.removed(place);
    catalog.opened(place);
    expect(catalog.has("chat", "ada")).toBe(true);
    catalog.close();
    const reopened = new AgentCatalog({ dataDir: dir });
    expect(reopened.countByClass()).toEqual([{ class: "chat", total: 1 }]);
    reopened.close();
  });

  it("says so when another process holds the file", () => {
    const dir = dataDir();
    const first = new AgentCatalog({ dataDir: dir });
    first.opened({ rootSlug: "chat", rootName: "ada", path: [], file: "" });
    first.flush();
    try {
      const path = join(dir, "catalog.sqlite");
      expect(() => new AgentCatalog({ dataDir: dir })).toThrow(`${path} is locked by another process. Is a second Hearth running on the same data directory?`);
    } finally {
      first.close();
    }
  });
});
