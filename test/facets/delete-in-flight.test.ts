/**
 * Deleting a facet (or a sub-agent) while calls are queued on it or running in it: they fail with
 * "Facet was deleted.", nothing of it stays on disk (no .sqlite, -wal, -shm, no .facets directory),
 * what it does after the delete cannot bring files back, and a later `get` starts empty.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Agent, getAgentByName, type AgentNamespace } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";
import { events, gate } from "./fixtures/tenants.ts";
import { filesUnder, rejection, startFacetHarness, supervisorOf, supervisorsDir, until } from "./support.ts";

// `events` is shared by every file using the tenants fixture (and one worker runs many files).
beforeEach(() => {
  events.length = 0;
});

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  events.length = 0;
});

/** Files of the facet `name` (its readable part) under the supervisors' directory. */
function filesOf(h: Harness, hint: string): string[] {
  return filesUnder(supervisorsDir(h.dataDir)).filter((file) => file.includes(`/${hint}-`) || file.includes(".facets/" + hint));
}

describe("ctx.facets.delete while requests are in flight", () => {
  it("fails the running call and the queued ones clearly, and leaves nothing on disk", async () => {
    harness = await startFacetHarness();
    const sup = supervisorOf(harness.host);
    await sup.call("acme", "add", ["before"]);
    await sup.call("acme", "childAdd", ["grandchild", "nested"]);
    const held = gate("g1");
    const running = rejection(sup.call("acme", "holdExclusive", ["during", "g1"]));
    await held.reached;
    // Three more calls reach the facet and queue behind the shut input gate.
    const queued = sup.callMany([
      { name: "acme", method: "add", args: ["q1"] },
      { name: "acme", method: "notes", args: [] },
      { name: "acme", method: "childNotes", args: ["grandchild"] },
    ]);
    expect(filesOf(harness, "acme").length).toBeGreaterThan(0);

    await sup.remove("acme");
    expect(await running).toBe("Facet was deleted.");
    expect(await queued).toEqual([
      { ok: false, value: "Facet was deleted." },
      { ok: false, value: "Facet was deleted." },
      { ok: false, value: "Facet was deleted." },
    ]);
    held.open();

    expect(filesOf(harness, "acme")).toEqual([]);
    expect(filesUnder(supervisorsDir(harness.dataDir)).filter((file) => file.includes(".facets"))).toEqual([]);
    expect(await sup.call("acme", "notes")).toEqual([]);
    expect(await sup.call("acme", "childNotes", ["grandchild"])).toEqual([]);
  });

  it("fails a call that was awaiting when the facet was deleted, even if it finishes later", async () => {
    harness = await startFacetHarness();
    const sup = supervisorOf(harness.host);
    const held = gate("g2");
    const running = rejection(sup.call("acme", "hold", ["first", "g2"]));
    await held.reached;
    await sup.remove("acme");
    expect(await running).toBe("Facet was deleted.");
    held.open();
    // The old instance's next write finds its storage closed, and no file comes back.
    await until(() => events.length > 0, "the old instance's write after the gate");
    expect(events[0]).toMatch(/^write after gate: /);
    expect(filesOf(harness, "acme")).toEqual([]);
    expect(await sup.call("acme", "notes")).toEqual([]);
  });

  it("does not let a deleted facet's running code bring its own facets' files back", async () => {
    harness = await startFacetHarness();
    const sup = supervisorOf(harness.host);
    await sup.call("acme", "childAdd", ["kid", "x"]);
    harness.host.hibernateIdleAgents();
    const held = gate("g3");
    const running = rejection(sup.call("acme", "holdThenChild", ["g3", "kid"]));
    await held.reached;
    await sup.remove("acme");
    expect(await running).toBe("Facet was deleted.");
    held.open();
    await until(() => events.length > 0, "the old instance reaching its facet");
    expect(events).toEqual(['child kid: Cannot start the facet "kid": its parent was deleted.']);
    expect(filesUnder(supervisorsDir(harness.dataDir)).filter((file) => file.includes(".facets"))).toEqual([]);
  });

  it("deletes a hibernated facet: no files left, old stubs throw, a later get starts empty", async () => {
    harness = await startFacetHarness();
    const sup = supervisorOf(harness.host);
    await sup.call("acme", "add", ["kept?"]);
    await sup.call("globex", "add", ["stays"]);
    harness.host.hibernateIdleAgents();
    expect(harness.host.stats.liveAgents).toBe(0);
    await sup.remove("acme");
    expect(filesOf(harness, "acme")).toEqual([]);
    expect(await sup.call("globex", "notes")).toEqual(["stays"]);
    expect(await sup.call("acme", "notes")).toEqual([]);
    // Deleting what does not exist is harmless.
    await sup.remove("never-made");
  });
});

const threadEvents: string[] = [];

class Thread extends Agent {
  add(text: string): number {
    this.sql`CREATE TABLE IF NOT EXISTS notes (text TEXT)`;
    this.sql`INSERT INTO notes (text) VALUES (${text})`;
    return this.sql<{ n: number }>`SELECT count(*) AS n FROM notes`[0]!.n;
  }

  count(): number {
    this.sql`CREATE TABLE IF NOT EXISTS notes (text TEXT)`;
    return this.sql<{ n: number }>`SELECT count(*) AS n FROM notes`[0]!.n;
  }

  async slow(gateId: string): Promise<string> {
    this.add("slow");
    const held = pendingGates.get(gateId)!;
    held.reached();
    await held.opened;
    threadEvents.push("slow finished");
    return "finished";
  }
}

const pendingGates = new Map<string, { reached: () => void; opened: Promise<void> }>();

class Inbox extends Agent {
  async post(thread: string, text: string): Promise<number> {
    return (await this.subAgent(Thread, thread)).add(text);
  }

  async countOf(thread: string): Promise<number> {
    return (await this.subAgent(Thread, thread)).count();
  }

  async slow(thread: string, gateId: string): Promise<string> {
    return (await this.subAgent(Thread, thread)).slow(gateId);
  }

  async drop(thread: string): Promise<void> {
    await this.deleteSubAgent(Thread, thread);
  }

  threads(): string[] {
    return this.listSubAgents(Thread).map((child) => child.name);
  }
}

describe("deleteSubAgent while requests are in flight", () => {
  afterEach(() => {
    threadEvents.length = 0;
    pendingGates.clear();
  });

  it("closes the sub-agent's WebSocket, fails its running call, and removes its files", async () => {
    harness = await startHarness({ Inbox, Thread });
    const inbox = await getAgentByName(harness.host.env.Inbox as AgentNamespace<Inbox>, "ada");
    await inbox.post("t1", "hello");
    await inbox.post("t2", "other");
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/inbox/ada/sub/thread/t1`);
    await socket.waitForType("cf_agent_identity");

    let reached!: () => void;
    let open!: () => void;
    const wasReached = new Promise<void>((resolve) => (reached = resolve));
    pendingGates.set("s1", { reached, opened: new Promise<void>((resolve) => (open = resolve)) });
    const running = rejection(inbox.slow("t1", "s1"));
    await wasReached;

    await inbox.drop("t1");
    expect(await running).toBe("Facet was deleted.");
    expect(await socket.waitClosed()).toEqual({ code: 1001, reason: "Sub-agent deleted" }); // the Agents SDK's reason
    open();
    await until(() => threadEvents.length > 0, "the old instance to finish");

    const dir = `${harness.dataDir}/agents/inbox`;
    const facetFiles = filesUnder(dir).filter((file) => file.includes(".facets/"));
    expect(facetFiles.every((file) => !file.includes("/thread-t1-"))).toBe(true);
    expect(facetFiles.filter((file) => file.endsWith(".sqlite"))).toHaveLength(1); // t2's
    expect(await inbox.threads()).toEqual(["t2"]);
    expect(await inbox.countOf("t1")).toBe(0);
    expect(await inbox.countOf("t2")).toBe(1);
    expect(harness.host.stats.sockets).toBe(0);
  });

  it("closes the WebSocket of a hibernated sub-agent when it is deleted", async () => {
    harness = await startHarness({ Inbox, Thread });
    const inbox = await getAgentByName(harness.host.env.Inbox as AgentNamespace<Inbox>, "ada");
    await inbox.post("t1", "hello");
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/inbox/ada/sub/thread/t1`);
    await socket.waitForType("cf_agent_identity");
    harness.host.hibernateIdleAgents();
    expect(harness.host.stats).toEqual({ liveAgents: 0, sockets: 1 });
    await inbox.drop("t1");
    expect(await socket.waitClosed()).toEqual({ code: 1001, reason: "Sub-agent deleted" }); // the Agents SDK's reason
    expect(harness.host.stats.sockets).toBe(0);
  });
});
