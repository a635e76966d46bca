/**
 * Sub-agents and facets in a cluster: each facet database has its own log in Postgres, fenced by its
 * root's lease, and is rebuilt with its root on the node that claims it — so a tree written through
 * one node is whole on another whose disk never held it, with its deletions and clones, and a
 * sub-agent's schedule fires on the new node without a request.
 */
import { existsSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AGENT_RUNTIME } from "../../src/agent/agent-base.ts";
import { facetLogKey, placeOfFacetKey, treeRange } from "../../src/cluster/facet-keys.ts";
import { Agent, getAgentByName, type AgentNamespace } from "../../src/index.ts";
import { childPlace, rootPlace } from "../../src/host/place.ts";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.ts";
import { startTestNode, stopTestNode, type TestNode } from "./support/test-node.ts";

/** Reminders fired, by the node whose host ran them. */
const fired: string[] = [];

class Thread extends Agent {
  add(text: string): string[] {
    this.sql`CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, text TEXT NOT NULL)`;
    this.sql`INSERT INTO messages (text) VALUES (${text})`;
    return this.messages();
  }
  messages(): string[] {
    this.sql`CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, text TEXT NOT NULL)`;
    return this.sql<{ text: string }>`SELECT text FROM messages ORDER BY id`.map((row) => row.text);
  }
  /** A reply thread below this one (a sub-agent of a sub-agent). */
  async reply(name: string, text: string): Promise<string[]> {
    return (await this.subAgent(Thread, name)).add(text);
  }
  async replies(name: string): Promise<string[]> {
    return (await this.subAgent(Thread, name)).messages();
  }
  async remindIn(seconds: number, text: string): Promise<void> {
    await this.schedule(seconds, "remind", text);
  }
  remind(text: string): void {
    this.add(`reminder: ${text}`);
    fired.push(text);
  }
}

class Inbox extends Agent {
  async post(thread: string, text: string): Promise<string[]> {
    return (await this.subAgent(Thread, thread)).add(text);
  }
  async read(thread: string): Promise<string[]> {
    return (await this.subAgent(Thread, thread)).messages();
  }
  async reply(thread: string, reply: string, text: string): Promise<string[]> {
    return (await this.subAgent(Thread, thread)).reply(reply, text);
  }
  async replies(thread: string, reply: string): Promise<string[]> {
    return (await this.subAgent(Thread, thread)).replies(reply);
  }
  async remind(thread: string, seconds: number, text: string): Promise<void> {
    await (await this.subAgent(Thread, thread)).remindIn(seconds, text);
  }
  async drop(thread: string): Promise<void> {
    await this.deleteSubAgent(Thread, thread);
  }
  /** Copies a thread (and its replies) under another name: what a Durable Object's `ctx.facets.clone` runs. */
  copy(from: string, to: string): void {
    this[AGENT_RUNTIME].children.clone(`Thread:${from}`, `Thread:${to}`);
  }
  threads(): string[] {
    return this.listSubAgents(Thread).map((child) => child.name);
  }
}

const inbox = async (running: TestNode, name: string) => getAgentByName(running.host.env.Inbox as AgentNamespace<Inbox>, name);

describe("facet log keys", () => {
  test("a facet's key names its root and its path, escapes the separator, and falls in its root's range", () => {
    const { key, rootId } = facetLogKey("inbox/ada\0t%1\0r\u00012");
    expect(rootId).toBe("inbox/ada");
    expect(key).toBe("inbox\u0001ada\u0001t%251\u0001r%012");
    const range = treeRange(rootId);
    expect(key >= range.from && key < range.to).toBe(true);
    // Another root whose name starts like this one's is not in its range.
    expect(facetLogKey("inbox/adam\0t").key.startsWith(range.from)).toBe(false);
    expect(placeOfFacetKey("/data", key)).toEqual(childPlace(childPlace(rootPlace("/data", "inbox", "ada"), "t%1"), "r\u00012"));
  });
});

describe.skipIf(postgresUnavailable() !== undefined)("sub-agents and facets in a cluster", () => {
  let connectionString: string;
  const nodes: TestNode[] = [];
  const start = async (id: string): Promise<TestNode> => {
    const running = await startTestNode(connectionString, id, { host: { agents: { Inbox, Thread } } });
    nodes.push(running);
    return running;
  };
  /** Hands the node's agents over (as SIGTERM does) and erases its disk. */
  const stop = async (running: TestNode): Promise<void> => {
    nodes.splice(nodes.indexOf(running), 1);
    await stopTestNode(running);
    expect(existsSync(running.dir)).toBe(false);
  };

  beforeAll(async () => {
    connectionString = await (await sharedPostgres()).database("facets_cluster");
  }, 60_000);
  afterAll(async () => {
    for (const running of nodes.splice(0)) await stopTestNode(running).catch(() => undefined);
  }, 60_000);

  test("a tree written through two nodes is whole on a third whose disk never held it", async () => {
    const a = await start("a");
    const b = await start("b");
    expect(await (await inbox(a, "ada")).post("t1", "hello")).toEqual(["hello"]);
    expect(await (await inbox(b, "ada")).post("t1", "again")).toEqual(["hello", "again"]);
    expect(await (await inbox(b, "ada")).reply("t1", "r1", "nested")).toEqual(["nested"]);
    await (await inbox(a, "ada")).post("t2", "doomed");
    await (await inbox(a, "ada")).drop("t2");
    await (await inbox(b, "ada")).copy("t1", "t1-copy");
    expect(await (await inbox(a, "ada")).post("t1-copy", "copied, then written")).toEqual(["hello", "again", "copied, then written"]);
    expect(await (await inbox(a, "ada")).post("t1", "after the copy")).toEqual(["hello", "again", "after the copy"]);
    const holder = [a, b].find((running) => running.node.holds("inbox", "ada"))!;
    expect(holder).toBeDefined();

    const c = await start("c");
    await stop(holder);
    const other = holder === a ? b : a;
    await stop(other);
    // Only c is left, with an empty disk: everything comes from the log.
    const ada = await inbox(c, "ada");
    expect(await ada.read("t1")).toEqual(["hello", "again", "after the copy"]);
    expect(await ada.replies("t1", "r1")).toEqual(["nested"]);
    expect(await ada.read("t1-copy")).toEqual(["hello", "again", "copied, then written"]);
    expect(await ada.replies("t1-copy", "r1")).toEqual(["nested"]);
    expect(await ada.threads()).toEqual(["t1", "t1-copy"]);
    // The deleted thread stayed deleted: opened again, it starts empty.
    expect(await ada.read("t2")).toEqual([]);
    expect(c.node.holds("inbox", "ada")).toBe(true);
    await stop(c);
  }, 60_000);

  test("a sub-agent's schedule fires on the node that took its root over, without a request", async () => {
    const a = await start("a2");
    const b = await start("b2");
    const first = [a, b];
    await (await inbox(a, "bob")).remind("t1", 2, "standup");
    const holder = first.find((running) => running.node.holds("inbox", "bob"))!;
    const heir = first.find((running) => running !== holder)!;
    await stop(holder);
    // Nothing asks for bob: the due index hands the tree to the heir, whose host fires the reminder.
    const deadline = Date.now() + 20_000;
    while (!fired.includes("standup")) {
      if (Date.now() > deadline) throw new Error("the sub-agent's reminder did not fire on the other node");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(heir.node.holds("inbox", "bob")).toBe(true);
    expect(await (await inbox(heir, "bob")).read("t1")).toEqual(["reminder: standup"]);
    await stop(heir);
    rmSync(heir.dir, { recursive: true, force: true });
  }, 60_000);
});
