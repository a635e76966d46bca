/**
 * `setState(undefined)` is a state that was set, as in the Agents SDK: once the agent left memory and
 * woke again it reads `null` (the SDK's stored NULL), and `initialState` is not seeded again (no
 * broadcast, no onStateChanged). An agent that never set a state still gets its initialState.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent, callable } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";

const changes: string[] = [];

class Clearable extends Agent<unknown, { n: number } | undefined> {
  override initialState = { n: 0 };

  override onStateChanged(state: { n: number } | undefined): void {
    changes.push(JSON.stringify(state) ?? "undefined");
  }

  @callable() clear(): string {
    this.setState(undefined);
    return JSON.stringify(this.state) ?? "undefined";
  }

  @callable() read(): string {
    return JSON.stringify(this.state) ?? "undefined";
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  changes.length = 0;
});

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("setState(undefined)", () => {
  it("stays set across hibernation: null after waking, initialState not seeded again", async () => {
    harness = await startHarness({ Clearable }, { hibernateAfterMs: 50 });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/clearable/a`);
    expect(await socket.waitForType("cf_agent_state")).toEqual({ type: "cf_agent_state", state: { n: 0 } });
    expect((await socket.call("clear")).result).toBe("undefined");
    expect(changes).toEqual(['{"n":0}', "undefined"]);

    await until(() => harness!.host.stats.liveAgents === 0);
    const mark = socket.frames.length;
    expect((await socket.call("read")).result).toBe("null");
    expect(changes).toEqual(['{"n":0}', "undefined"]);
    expect(socket.frames.slice(mark).filter((frame) => typeof frame === "object" && frame.type === "cf_agent_state")).toEqual([]);
    socket.close();
  });

  it("leaves an agent that never stored a state seeding its initialState after waking", async () => {
    harness = await startHarness({ Clearable }, { hibernateAfterMs: 50 });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/clearable/b?_pk=b`);
    await socket.waitForType("cf_agent_mcp_servers");
    expect((await socket.call("read")).result).toBe('{"n":0}');
    socket.close();
  });
});
