/**
 * `destroy()` called by the agent's own event: its sockets close (1000 "Agent destroyed") only once
 * that event's output went out, as Cloudflare aborts the object after destroy() returned: the caller
 * gets its reply, every client the broadcasts and state set before, and nothing sent on the closing
 * sockets brings the agent back.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";

let release: () => void = () => {};
let released = Promise.resolve();

class Doomed extends Agent<unknown, { n: number }> {
  initialState = { n: 0 };
  static callables = ["bye", "byeLater", "ping"];
  async bye(): Promise<string> {
    this.broadcast("farewell");
    this.setState({ n: 99 });
    await this.destroy();
    return "gone";
  }
  /** Destroys, then waits for the test before it returns. */
  async byeLater(): Promise<string> {
    await this.destroy();
    await released;
    return "gone later";
  }
  ping(): string {
    return "pong";
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  release();
  await harness?.close();
  harness = undefined;
});

describe("destroy() in the agent's own event", () => {
  it("sends the reply and the broadcasts before the sockets close", async () => {
    harness = await startHarness({ Doomed });
    const caller = await TestSocket.open(`${harness.wsUrl}/agents/doomed/d?_pk=caller`);
    const other = await TestSocket.open(`${harness.wsUrl}/agents/doomed/d?_pk=other`);
    await caller.waitForType("cf_agent_mcp_servers");
    await other.waitForType("cf_agent_mcp_servers");
    const mark = caller.frames.length;
    caller.send({ type: "rpc", id: "bye", method: "bye", args: [] });

    expect(await caller.waitClosed()).toEqual({ code: 1000, reason: "Agent destroyed" });
    expect(caller.frames.slice(mark)).toEqual(["farewell", { type: "cf_agent_state", state: { n: 99 } }, { type: "rpc", id: "bye", success: true, result: "gone", done: true }]);
    expect(await other.waitClosed()).toEqual({ code: 1000, reason: "Agent destroyed" });
    expect(other.frames.slice(-2)).toEqual(["farewell", { type: "cf_agent_state", state: { n: 99 } }]);

    await expect.poll(() => harness!.host.stats).toEqual({ liveAgents: 0, sockets: 0 });
    expect(harness.host.exists("Doomed", "d")).toBe(false);
    // The next connection starts afresh.
    const next = await TestSocket.open(`${harness.wsUrl}/agents/doomed/d`);
    expect(await next.waitForType("cf_agent_state")).toEqual({ type: "cf_agent_state", state: { n: 0 } });
    next.close();
  });

  it("drops what arrives on a socket waiting for that close instead of waking a new agent", async () => {
    released = new Promise<void>((resolve) => (release = resolve));
    harness = await startHarness({ Doomed });
    const caller = await TestSocket.open(`${harness.wsUrl}/agents/doomed/late`);
    await caller.waitForType("cf_agent_mcp_servers");
    caller.send({ type: "rpc", id: "bye", method: "byeLater", args: [] });
    await expect.poll(() => harness!.host.exists("Doomed", "late")).toBe(false);
    caller.send({ type: "rpc", id: "after", method: "ping", args: [] });
    // A round trip on another agent's socket: the server has read what was sent before it.
    const witness = await TestSocket.open(`${harness.wsUrl}/agents/doomed/witness`);
    expect(await witness.call("ping")).toMatchObject({ result: "pong" });
    release();

    expect(await caller.waitClosed()).toEqual({ code: 1000, reason: "Agent destroyed" });
    expect(caller.frames.filter((frame) => typeof frame === "object" && frame.type === "rpc")).toEqual([{ type: "rpc", id: "bye", success: true, result: "gone later", done: true }]);
    expect(harness.host.exists("Doomed", "late")).toBe(false);
    witness.close();
  });
});
