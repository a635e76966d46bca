import { afterEach, describe, expect, it } from "vitest";
import { Agent, type Connection, type ConnectionContext } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";

class Board extends Agent<unknown, { count: number }> {
  initialState = { count: 0 };
  static callables = ["increment", "peek", "incrementLater"];

  shouldConnectionBeReadonly(_connection: Connection, ctx: ConnectionContext): boolean {
    return new URL(ctx.request.url).searchParams.get("view") === "1";
  }

  increment(by: number) {
    this.sql`CREATE TABLE IF NOT EXISTS log (by INTEGER)`;
    this.sql`INSERT INTO log VALUES (${by})`;
    this.setState({ count: this.state.count + by });
    return this.state.count;
  }

  /** The state change happens after an await: still the read-only connection's event. */
  async incrementLater(by: number) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return this.increment(by);
  }

  peek() {
    return this.state.count;
  }

  onMessage(connection: Connection, message: string | ArrayBuffer) {
    if (message === "bump") this.setState({ count: this.state.count + 100 });
    connection.send("ok");
  }

  logged() {
    this.sql`CREATE TABLE IF NOT EXISTS log (by INTEGER)`;
    return this.sql<{ n: number }>`SELECT count(*) AS n FROM log`[0]!.n;
  }
}

/** An onConnect that awaits (a lookup): what the connection sends meanwhile must wait for it. */
class SlowToConnect extends Agent<unknown, { owner: string }> {
  initialState = { owner: "admin" };
  seen: string[] = [];

  shouldConnectionBeReadonly(): boolean {
    return true;
  }

  async onConnect(connection: Connection): Promise<void> {
    this.seen.push("onConnect:start");
    await new Promise((resolve) => setTimeout(resolve, 200));
    connection.setState({ user: "u1" });
    this.seen.push("onConnect:end");
  }

  onMessage(connection: Connection, message: string | ArrayBuffer): void {
    this.seen.push(`onMessage:${String(message)}:${JSON.stringify(connection.state)}`);
  }

  log(): { seen: string[]; owner: string } {
    return { seen: this.seen, owner: this.state.owner };
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("read-only connections", () => {
  it("cannot change state through a callable: the RPC fails with 'Connection is readonly', nothing is written", async () => {
    harness = await startHarness({ Board });
    const viewer = await TestSocket.open(`${harness.wsUrl}/agents/board/b1?view=1`);
    const editor = await TestSocket.open(`${harness.wsUrl}/agents/board/b1`);
    await viewer.waitForType("cf_agent_state");

    for (let i = 0; i < 5; i++) {
      const refused = await viewer.call("increment", [1]);
      expect(refused).toMatchObject({ type: "rpc", success: false, error: "Connection is readonly" });
    }
    const later = await viewer.call("incrementLater", [1]);
    expect(later).toMatchObject({ success: false, error: "Connection is readonly" });
    // A plain message handler that sets state is refused too (the connection's error goes to onError).
    viewer.send("bump");

    // The agent keeps working: reads for the viewer, writes for the editor.
    expect(await viewer.call("peek")).toMatchObject({ success: true, result: 0 });
    expect(await editor.call("increment", [2])).toMatchObject({ success: true, result: 2 });
    expect((await viewer.waitFor((f) => typeof f === "object" && f.type === "cf_agent_state" && (f.state as { count: number }).count === 2)) as object).toBeTruthy();
    const board = harness.host.env.Board as { getByName(name: string): { logged(): Promise<number>; peek(): Promise<number> } };
    // The refused calls' INSERTs were rolled back with them.
    expect(await board.getByName("b1").logged()).toBe(1);
    expect(await board.getByName("b1").peek()).toBe(2);
    expect(viewer.frames).not.toContain("ok");
    viewer.close();
    editor.close();
  });

  it("holds what a connection sends until its onConnect ended: a read-only one cannot slip a state change in before", async () => {
    harness = await startHarness({ SlowToConnect });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/slow-to-connect/s1`);
    socket.send({ type: "cf_agent_state", state: { owner: "attacker" } }); // at once: onConnect is still awaiting
    socket.send("hello");
    expect(await socket.waitForType("cf_agent_state_error")).toEqual({ type: "cf_agent_state_error", error: "Connection is readonly" });
    const agent = harness.host.env.SlowToConnect as { getByName(name: string): { log(): Promise<{ seen: string[]; owner: string }> } };
    await expect.poll(async () => (await agent.getByName("s1").log()).seen.length).toBe(3);
    expect(await agent.getByName("s1").log()).toEqual({ seen: ["onConnect:start", "onConnect:end", 'onMessage:hello:{"user":"u1"}'], owner: "admin" });
    socket.close();
  });

  it("still refuses a state frame from a read-only connection with cf_agent_state_error", async () => {
    harness = await startHarness({ Board });
    const viewer = await TestSocket.open(`${harness.wsUrl}/agents/board/b2?view=1`);
    await viewer.waitForType("cf_agent_state");
    viewer.send({ type: "cf_agent_state", state: { count: 99 } });
    expect(await viewer.waitForType("cf_agent_state_error")).toEqual({ type: "cf_agent_state_error", error: "Connection is readonly" });
    expect(await viewer.call("peek")).toMatchObject({ result: 0 });
    viewer.close();
  });
});
