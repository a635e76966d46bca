import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent, VirtualClock, callable, getAgentByName, getSubAgentByName, type AgentNamespace } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";

const fired: string[] = [];

class Thread extends Agent<unknown, { messages: string[] }> {
  initialState = { messages: [] as string[] };

  @callable() add(text: string): number {
    this.setState({ messages: [...this.state.messages, text] });
    this.sql`CREATE TABLE IF NOT EXISTS notes (text TEXT)`;
    this.sql`INSERT INTO notes (text) VALUES (${text})`;
    return this.state.messages.length;
  }

  count(): number {
    this.sql`CREATE TABLE IF NOT EXISTS notes (text TEXT)`;
    return this.sql<{ n: number }>`SELECT count(*) AS n FROM notes`[0]?.n ?? 0;
  }

  whereAmI(): { self: unknown; parent: unknown; name: string } {
    return { self: this.selfPath, parent: this.parentPath, name: this.name };
  }

  async remind(): Promise<string> {
    const schedule = await this.schedule(60, "ping", { from: this.name });
    return schedule.id;
  }

  ping(payload: { from: string }): void {
    fired.push(payload.from);
  }

  async askParent(): Promise<number> {
    const inbox = await this.parentAgent(Inbox);
    return inbox.threadCount();
  }

  onRequest(request: Request): Response {
    return Response.json({ path: new URL(request.url).pathname, name: this.name, messages: this.state.messages });
  }

  async remindNested(name: string): Promise<string> {
    return (await this.subAgent(Thread, name)).remind();
  }

  async nest(name: string): Promise<number> {
    const child = await this.subAgent(Thread, name);
    return child.add("deep");
  }
}

class Inbox extends Agent {
  async post(thread: string, text: string): Promise<number> {
    const stub = await this.subAgent(Thread, thread);
    return stub.add(text);
  }

  async countOf(thread: string): Promise<number> {
    return (await this.subAgent(Thread, thread)).count();
  }

  threadCount(): number {
    return this.listSubAgents(Thread).length;
  }

  list(): Array<{ className: string; name: string }> {
    return this.listSubAgents().map(({ className, name }) => ({ className, name }));
  }

  has(thread: string): boolean {
    return this.hasSubAgent(Thread, thread);
  }

  async drop(thread: string): Promise<void> {
    await this.deleteSubAgent(Thread, thread);
  }

  /** Wipes the inbox's storage: its threads go with it. */
  async wipe(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  /** A thread addressed by a class string, as the Agents SDK allows. */
  async postByClassName(className: string, thread: string, text: string): Promise<number> {
    return (await this.subAgent<Thread>(className, thread)).add(text);
  }

  suspend(thread: string): void {
    this.abortSubAgent(Thread, thread, new Error("suspended"));
  }

  async where(thread: string): Promise<unknown> {
    return (await this.subAgent(Thread, thread)).whereAmI();
  }

  async remind(thread: string): Promise<string> {
    return (await this.subAgent(Thread, thread)).remind();
  }

  async parentFromChild(thread: string): Promise<number> {
    return (await this.subAgent(Thread, thread)).askParent();
  }

  async remindNested(thread: string, child: string): Promise<string> {
    return (await this.subAgent(Thread, thread)).remindNested(child);
  }

  async nested(thread: string, child: string): Promise<number> {
    return (await this.subAgent(Thread, thread)).nest(child);
  }

  onBeforeSubAgent(request: Request, child: { className: string; name: string }): Response | void {
    if (child.name.startsWith("secret")) return new Response("Forbidden", { status: 403 });
    if (request.headers.get("x-only-existing") && !this.hasSubAgent(child.className, child.name)) return new Response("No such thread", { status: 404 });
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  fired.length = 0;
});

const inboxOf = async (h: Harness, name: string) => getAgentByName(h.host.env.Inbox as AgentNamespace<Inbox>, name);

describe("sub-agents", () => {
  it("creates children on demand, each with its own database, listed in creation order", async () => {
    harness = await startHarness({ Inbox, Thread });
    const inbox = await inboxOf(harness, "ada");
    expect(await inbox.post("t1", "hello")).toBe(1);
    expect(await inbox.post("t1", "again")).toBe(2);
    expect(await inbox.post("t2", "other")).toBe(1);
    expect(await inbox.countOf("t1")).toBe(2);
    expect(await inbox.countOf("t2")).toBe(1);
    expect(await inbox.list()).toEqual([
      { className: "Thread", name: "t1" },
      { className: "Thread", name: "t2" },
    ]);
    expect(await inbox.has("t1")).toBe(true);
    expect(await inbox.has("nope")).toBe(false);
    // The parent's file has no notes table: the children's data is theirs.
    const other = await inboxOf(harness, "bob");
    expect(await other.countOf("t1")).toBe(0);
    const facets = readdirSync(join(harness.dataDir, "agents", "inbox"), { recursive: true }).map(String);
    expect(facets.filter((file) => file.endsWith(".sqlite")).length).toBe(5); // ada, bob, ada's t1 and t2, bob's t1
  });

  it("knows its path and reaches its parent", async () => {
    harness = await startHarness({ Inbox, Thread });
    const inbox = await inboxOf(harness, "ada");
    expect(await inbox.where("t1")).toEqual({
      name: "t1",
      parent: [{ className: "Inbox", name: "ada" }],
      self: [
        { className: "Inbox", name: "ada" },
        { className: "Thread", name: "t1" },
      ],
    });
    await inbox.post("t2", "x");
    expect(await inbox.parentFromChild("t1")).toBe(2);
    expect(await inbox.nested("t1", "deeper")).toBe(1);
  });

  it("aborts (data kept) and deletes (data gone, schedules cancelled)", async () => {
    const clock = new VirtualClock({ start: Date.parse("2026-03-01T00:00:00Z") });
    harness = await startHarness({ Inbox, Thread }, { clock });
    const inbox = await inboxOf(harness, "ada");
    await inbox.post("t1", "kept");
    await inbox.suspend("t1");
    expect(await inbox.countOf("t1")).toBe(1);
    await inbox.remind("t1");
    await inbox.drop("t1");
    expect(await inbox.has("t1")).toBe(false);
    await clock.advance("2 minutes");
    await harness.host.tasksIdle();
    expect(fired).toEqual([]);
    expect(await inbox.countOf("t1")).toBe(0);
  });

  it("deletes every sub-agent and the list of them with ctx.storage.deleteAll()", async () => {
    harness = await startHarness({ Inbox, Thread });
    const inbox = await inboxOf(harness, "ada");
    await inbox.post("private", "a secret");
    await inbox.nested("private", "deeper");
    const files = () => readdirSync(join(harness!.dataDir, "agents", "inbox"), { recursive: true }).map(String).filter((file) => file.endsWith(".sqlite"));
    expect(files().length).toBe(3);
    await inbox.wipe();
    expect(await inbox.list()).toEqual([]);
    expect(await inbox.has("private")).toBe(false);
    expect(files().length).toBe(1); // the inbox's own file
    expect(await inbox.countOf("private")).toBe(0);
  });

  it("takes a class string only when it names a bound class: no other string reaches a facet", async () => {
    harness = await startHarness({ Inbox, Thread });
    const inbox = await inboxOf(harness, "ada");
    expect(await inbox.postByClassName("Thread", "b:c", "one")).toBe(1);
    // "Thread:b" + "c" spelled the same facet as "Thread" + "b:c".
    await expect(inbox.postByClassName("Thread:b", "c", "two")).rejects.toThrow('Sub-agent class "Thread:b" not found in worker exports');
    await expect(inbox.postByClassName("Nope", "c", "two")).rejects.toThrow('Sub-agent class "Nope" not found in worker exports');
    expect(await inbox.list()).toEqual([{ className: "Thread", name: "b:c" }]);
    expect(await inbox.countOf("b:c")).toBe(1);
  });

  it("refuses to abort or delete by a name no sub-agent can have (a NUL spelled a grandchild's place)", async () => {
    const clock = new VirtualClock({ start: Date.parse("2026-03-01T00:00:00Z") });
    harness = await startHarness({ Inbox, Thread }, { clock });
    const inbox = await inboxOf(harness, "ada");
    await inbox.remindNested("t1", "deeper");
    await expect(inbox.drop("t1\0Thread:deeper")).rejects.toThrow("must not contain NUL");
    await expect(inbox.suspend("t1\0Thread:deeper")).rejects.toThrow("must not contain NUL");
    await clock.advance("61 s");
    await harness.host.tasksIdle();
    expect(fired).toEqual(["deeper"]);
  });

  it("runs a sub-agent's schedules while its parent sleeps", async () => {
    const clock = new VirtualClock({ start: Date.parse("2026-03-01T00:00:00Z") });
    harness = await startHarness({ Inbox, Thread }, { clock });
    const inbox = await inboxOf(harness, "ada");
    await inbox.remind("t9");
    harness.host.hibernateIdleAgents();
    expect(harness.host.stats.liveAgents).toBe(0);
    await clock.advance("61 s");
    await harness.host.tasksIdle();
    expect(fired).toEqual(["t9"]);
  });

  it("serves nested URLs over HTTP and WebSockets, through onBeforeSubAgent", async () => {
    harness = await startHarness({ Inbox, Thread });
    const inbox = await inboxOf(harness, "ada");
    await inbox.post("t1", "hi");
    const res = await fetch(`${harness.url}/agents/inbox/ada/sub/thread/t1/messages?x=1`);
    expect(await res.json()).toEqual({ path: "/messages", name: "t1", messages: ["hi"] });
    expect((await fetch(`${harness.url}/agents/inbox/ada/sub/thread/secret-1`)).status).toBe(403);
    expect((await fetch(`${harness.url}/agents/inbox/ada/sub/thread/t7`, { headers: { "x-only-existing": "1" } })).status).toBe(404);
    expect((await fetch(`${harness.url}/agents/inbox/ada/sub/nothing/t1`)).status).toBe(404);

    const socket = await TestSocket.open(`${harness.wsUrl}/agents/inbox/ada/sub/thread/t1`);
    expect(await socket.waitForType("cf_agent_state")).toMatchObject({ state: { messages: ["hi"] } });
    const reply = await socket.call("add", ["from socket"]);
    expect(reply).toMatchObject({ success: true, result: 2 });
    expect(await inbox.countOf("t1")).toBe(2);
    socket.close();
  });

  it("refuses a fifth level, in code with the facet depth error, by URL with a terse 400", async () => {
    harness = await startHarness({ Inbox, Thread });
    const inbox = await inboxOf(harness, "ada");
    const deep = `${harness.url}/agents/inbox/ada/sub/thread/a/sub/thread/b/sub/thread/c`;
    expect((await fetch(deep)).status).toBe(200); // depth 4, the root included
    const tooDeep = await fetch(`${deep}/sub/thread/d`);
    expect(tooDeep.status).toBe(400);
    expect(await tooDeep.text()).toBe("Bad Request"); // the detail goes to the log, as in the Agents SDK
    const third = await getSubAgentByName(await getSubAgentByName(inbox, Thread, "a"), Thread, "b");
    await expect(third.nest("c")).resolves.toBe(1);
    const fourth = await getSubAgentByName(third, Thread, "c");
    await expect(fourth.nest("d")).rejects.toThrow("Facet nesting depth limit exceeded");
  });

  it("reaches a child from outside with getSubAgentByName", async () => {
    harness = await startHarness({ Inbox, Thread });
    const inbox = await inboxOf(harness, "ada");
    const thread = await getSubAgentByName(inbox, Thread, "t5");
    expect(await thread.add("outside")).toBe(1);
    expect(await inbox.countOf("t5")).toBe(1);
    expect(existsSync(harness.dataDir)).toBe(true);
  });
});

describe("sub-agents of exported, unbound classes", () => {
  it("works as on Cloudflare (ctx.exports), without a binding or a URL of their own", async () => {
    harness = await startHarness({ Inbox }, { exportedClasses: { Thread } });
    expect(harness.host.env.Thread).toBeUndefined();
    const inbox = await inboxOf(harness, "ada");
    expect(await inbox.post("t1", "hello")).toBe(1);
    expect((await fetch(`${harness.url}/agents/thread/t1`)).status).toBe(400);
    expect((await fetch(`${harness.url}/agents/inbox/ada/sub/thread/t1`)).status).toBe(200);
  });
});
