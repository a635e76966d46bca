import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent, getAgentByName, Host, type AgentNamespace } from "../../src/index.ts";
import { startHarness, tempDir, TestSocket, type Harness } from "../support/harness.ts";

const constructed: string[] = [];
/** Outside I/O the test controls: `appendAcrossLatch` waits on it between its two writes. */
let releaseLatch: () => void = () => {};
let latch: Promise<void> = Promise.resolve();
let latchEntered: () => void = () => {};

class Ledger extends Agent<{ Ledger: AgentNamespace<Ledger> }, { total: number }> {
  static callables = ["append"];
  initialState = { total: 0 };
  constructor(...args: ConstructorParameters<typeof Agent<{ Ledger: AgentNamespace<Ledger> }, { total: number }>>) {
    super(...args);
    constructed.push(this.name);
  }
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, label TEXT)`;
  }
  append(label: string) {
    this.sql`INSERT INTO entries (label) VALUES (${label})`;
    this.setState({ total: this.state.total + 1 });
    return this.state.total;
  }
  /** Appends, waits on the test's latch (outside I/O, with nothing else of the agent's pending), appends again. */
  async appendAcrossLatch(label: string) {
    this.sql`INSERT INTO entries (label) VALUES (${`${label}:before`})`;
    latchEntered();
    await latch;
    this.sql`INSERT INTO entries (label) VALUES (${`${label}:after`})`;
  }
  appendThenThrow(label: string) {
    this.sql`INSERT INTO entries (label) VALUES (${label})`;
    this.setState({ total: this.state.total + 100 });
    throw new Error("boom after writing");
  }
  async appendAwaitThenThrow(label: string) {
    this.sql`INSERT INTO entries (label) VALUES (${`${label}:committed`})`;
    await new Promise((resolve) => setTimeout(resolve, 5));
    this.sql`INSERT INTO entries (label) VALUES (${`${label}:lost`})`;
    throw new Error("boom after outside I/O");
  }
  labels() {
    return this.sql<{ label: string }>`SELECT label FROM entries ORDER BY seq`.map((row) => row.label);
  }
  ownId() {
    return { name: this.ctx.id.name, text: this.ctx.id.toString() };
  }
  whoAmI() {
    return { name: this.name, file: this.sql<{ file: string }>`SELECT file FROM pragma_database_list WHERE name = 'main'`[0]!.file };
  }
  async askPeer(peer: string, label: string) {
    const stub = await getAgentByName(this.env.Ledger, peer);
    return await stub.append(label);
  }
  big(megabytes: number) {
    const blob = "x".repeat(1024 * 1024);
    this.setState({ total: megabytes, ...Object.fromEntries(Array.from({ length: megabytes }, (_, i) => [`k${i}`, blob])) } as never);
    return JSON.stringify(this.state).length;
  }
  async selfDestruct() {
    await this.destroy();
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function ledger(h: Harness, name: string) {
  return (h.host.env.Ledger as AgentNamespace<Ledger>).getByName(name);
}

describe("actor host", () => {
  it("keeps exactly one live instance per (class, name)", async () => {
    harness = await startHarness({ Ledger });
    constructed.length = 0;
    await Promise.all(Array.from({ length: 20 }, (_, i) => ledger(harness!, "solo").append(`a${i}`)));
    expect(constructed.filter((n) => n === "solo")).toHaveLength(1);
    expect(await ledger(harness, "solo").labels()).toHaveLength(20);
    expect(harness.host.stats.liveAgents).toBe(1);
  });

  it("delivers concurrent messages to one agent in arrival order", async () => {
    harness = await startHarness({ Ledger }, { hibernateAfterMs: 60_000 });
    const sockets = await Promise.all([1, 2, 3].map(() => TestSocket.open(`${harness!.wsUrl}/agents/ledger/ordered`)));
    // Each socket fires 50 calls without waiting; per socket, order must be kept end to end.
    const pending = sockets.flatMap((socket, s) => Array.from({ length: 50 }, (_, i) => socket.call("append", [`s${s}-${i}`])));
    const replies = await Promise.all(pending);
    expect(replies.every((reply) => reply.success === true)).toBe(true);
    const labels = await ledger(harness, "ordered").labels();
    expect(labels).toHaveLength(150);
    for (let s = 0; s < 3; s++) {
      const mine = labels.filter((l) => l.startsWith(`s${s}-`));
      expect(mine).toEqual(Array.from({ length: 50 }, (_, i) => `s${s}-${i}`));
    }
    sockets.forEach((s) => s.close());
  });

  it("lets other events in while a handler awaits outside I/O, and keeps writes atomic", async () => {
    harness = await startHarness({ Ledger });
    const stub = ledger(harness, "gate");
    latch = new Promise<void>((resolve) => (releaseLatch = resolve));
    const entered = new Promise<void>((resolve) => (latchEntered = resolve));
    const slow = stub.appendAcrossLatch("slow");
    await entered;
    await stub.append("fast");
    releaseLatch();
    await slow;
    expect(await stub.labels()).toEqual(["slow:before", "fast", "slow:after"]);
  });

  it("rolls back a handler's writes when it throws, and its in-memory state with them", async () => {
    harness = await startHarness({ Ledger });
    const stub = ledger(harness, "atomic");
    await stub.append("kept");
    await expect(stub.appendThenThrow("dropped")).rejects.toThrow("boom after writing");
    expect(await stub.labels()).toEqual(["kept"]);
    expect(await stub.append("next")).toBe(2); // not 102: the failed setState was undone too
    await expect(stub.appendAwaitThenThrow("io")).rejects.toThrow("boom after outside I/O");
    expect(await stub.labels()).toEqual(["kept", "next", "io:committed"]);
  });

  it("commits a turn's events together, yet undoes only the one that failed", async () => {
    harness = await startHarness({ Ledger });
    const stub = ledger(harness, "batch");
    const results = await Promise.allSettled([
      stub.append("a"),
      stub.appendThenThrow("bad"),
      stub.append("b"),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(results[2]).toEqual({ status: "fulfilled", value: 2 });
    expect(await stub.labels()).toEqual(["a", "b"]);
  });

  it("works the same with strict durability, across a restart", async () => {
    const dir = tempDir();
    try {
      harness = await startHarness({ Ledger }, { dataDir: dir.path, durability: "strict" });
      await Promise.all([ledger(harness, "s").append("one"), ledger(harness, "s").append("two")]);
      await harness.close();
      harness = await startHarness({ Ledger }, { dataDir: dir.path, durability: "strict" });
      expect(await ledger(harness, "s").labels()).toEqual(["one", "two"]);
    } finally {
      await harness?.close();
      harness = undefined;
      dir.remove();
    }
  });

  it("gives every agent its own database file", async () => {
    harness = await startHarness({ Ledger });
    await ledger(harness, "one").append("only-in-one");
    await ledger(harness, "two").append("only-in-two");
    expect(await ledger(harness, "one").labels()).toEqual(["only-in-one"]);
    expect(await ledger(harness, "two").labels()).toEqual(["only-in-two"]);
    const one = await ledger(harness, "one").whoAmI();
    const two = await ledger(harness, "two").whoAmI();
    expect(one.file).not.toBe(two.file);
    expect(one.file.startsWith(harness.dataDir)).toBe(true);
  });

  it("keeps hostile names inside the data directory, each in its own file", async () => {
    harness = await startHarness({ Ledger });
    const names = ["..", "../../escape", "/etc/passwd", "a/../b", "名前 🔥", "x".repeat(1024), ".", "a\\..\\b"];
    const files = new Set<string>();
    for (const name of names) {
      const stub = ledger(harness, name);
      await stub.append(name);
      const who = await stub.whoAmI();
      expect(who.name).toBe(name);
      expect(who.file.startsWith(join(harness.dataDir, "agents", "ledger"))).toBe(true);
      files.add(who.file);
    }
    expect(files.size).toBe(names.length);
    // Besides agents/: the host's own files (due index, run journal, agent catalog).
    expect(readdirSync(harness.dataDir).filter((entry) => !/^(host\.sqlite|tasks\.journal|catalog\.sqlite)/.test(entry))).toEqual(["agents"]);
    expect(existsSync(join(harness.dataDir, "..", "escape"))).toBe(false);
  });

  it("persists state and SQL across a host restart on the same data directory", async () => {
    const dir = tempDir();
    try {
      harness = await startHarness({ Ledger }, { dataDir: dir.path });
      await ledger(harness, "durable").append("first");
      await ledger(harness, "durable").append("second");
      await harness.close();
      harness = await startHarness({ Ledger }, { dataDir: dir.path });
      expect(await ledger(harness, "durable").labels()).toEqual(["first", "second"]);
      expect(await ledger(harness, "durable").append("third")).toBe(3);
    } finally {
      await harness?.close();
      harness = undefined;
      dir.remove();
    }
  });

  it("stores a 20 MB state and reads it back after a restart", async () => {
    const dir = tempDir();
    try {
      harness = await startHarness({ Ledger }, { dataDir: dir.path });
      const size = await ledger(harness, "big").big(20);
      expect(size).toBeGreaterThan(20 * 1024 * 1024);
      await harness.close();
      harness = await startHarness({ Ledger }, { dataDir: dir.path });
      const socket = await TestSocket.open(`${harness.wsUrl}/agents/ledger/big`);
      const state = (await socket.waitForType("cf_agent_state")).state as Record<string, unknown>;
      expect(state.total).toBe(20);
      expect((state.k19 as string).length).toBe(1024 * 1024);
      socket.close();
    } finally {
      await harness?.close();
      harness = undefined;
      dir.remove();
    }
  });

  it("supports agent-to-agent RPC through getAgentByName", async () => {
    harness = await startHarness({ Ledger });
    expect(await ledger(harness, "caller").askPeer("callee", "from-caller")).toBe(1);
    expect(await ledger(harness, "callee").labels()).toEqual(["from-caller"]);
    await expect((ledger(harness, "x") as unknown as { missing(): Promise<void> }).missing()).rejects.toThrow(/has no method "missing"/);
  });

  it("gives a stub the agent's id, as a Durable Object stub has one", async () => {
    harness = await startHarness({ Ledger });
    const stub = await getAgentByName(harness.host.env.Ledger as AgentNamespace<Ledger>, "ided");
    expect(typeof stub.id).toBe("object");
    expect(stub.id.name).toBe("ided");
    expect(await stub.ownId()).toEqual({ name: "ided", text: stub.id.toString() });
  });

  it("destroy() deletes the database and closes its sockets; the next call starts afresh", async () => {
    harness = await startHarness({ Ledger });
    const stub = ledger(harness, "doomed");
    await stub.append("gone soon");
    const { file } = await stub.whoAmI();
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/ledger/doomed`);
    await socket.waitForType("cf_agent_mcp_servers");
    await stub.selfDestruct();
    expect(await socket.waitClosed()).toEqual({ code: 1000, reason: "Agent destroyed" });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(existsSync(file)).toBe(false); // closing its sockets did not bring it back
    expect(harness.host.stats).toEqual({ liveAgents: 0, sockets: 0 });
    expect(await stub.labels()).toEqual([]);
  });

  it("refuses a second host on the same data directory", async () => {
    const dir = tempDir();
    try {
      harness = await startHarness({ Ledger }, { dataDir: dir.path });
      await ledger(harness, "owned").append("x");
      expect(() => new Host({ dataDir: dir.path, agents: { Ledger } })).toThrow(/locked by another process/);
      // The first host is unharmed.
      expect(await ledger(harness, "owned").labels()).toEqual(["x"]);
    } finally {
      await harness?.close();
      harness = undefined;
      dir.remove();
    }
  });
});

describe("classes from another copy of hearth", () => {
  it("says so instead of only 'not a class that extends Agent'", () => {
    class Agent {} // stands in for the base class of a second copy of the package
    class Stray extends Agent {}
    const dir = tempDir();
    try {
      expect(() => new Host({ dataDir: dir.path, agents: { Stray: Stray as never } })).toThrow(
        /agents\.Stray is not a class that extends Agent — it extends a different copy of hearth's Agent/,
      );
    } finally {
      dir.remove();
    }
  });
});
