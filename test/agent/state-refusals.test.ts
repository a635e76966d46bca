/**
 * State changes that cannot be made are refused in the open, as the Agents SDK refuses them: an
 * asynchronous `validateStateChange` (it must be synchronous) and a client state that passes
 * validation but cannot be stored both answer `cf_agent_state_error` "State update rejected" and reach
 * onError; the agent keeps serving, and nothing is left unhandled.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent, callable } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";

const errors: string[] = [];

/**
 * A validator written `async`: it returns a promise, which rejects for a negative count. No
 * initialState: seeding one is a change the validator would refuse as well.
 */
class AsyncGate extends Agent<unknown, { n: number }> {
  override async validateStateChange(next: { n: number }): Promise<void> {
    if (next.n < 0) throw new Error("negative");
  }

  override onError(error: unknown): void {
    errors.push(error instanceof Error ? error.message : String(error));
  }

  @callable() trySet(n: number): string {
    try {
      this.setState({ n });
      return "stored";
    } catch (error) {
      return `${(error as Error).name}: ${(error as Error).message}`;
    }
  }
}

class Plain extends Agent<unknown, unknown> {
  override initialState: unknown = { v: 1 };

  override onError(error: unknown): void {
    errors.push(error instanceof Error ? error.message : String(error));
  }

  @callable() read(): unknown {
    return this.state;
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  errors.length = 0;
});

const isStateError = (frame: unknown): boolean => typeof frame === "object" && frame !== null && (frame as { type?: unknown }).type === "cf_agent_state_error";

describe("an asynchronous validateStateChange", () => {
  it("refuses a client's change with cf_agent_state_error and reports why, whether its promise rejects or not", async () => {
    harness = await startHarness({ AsyncGate });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/async-gate/a`);
    await socket.waitForType("cf_agent_mcp_servers");

    let mark = socket.frames.length;
    socket.send({ type: "cf_agent_state", state: { n: -1 } }); // its promise rejects
    expect(await socket.waitFor(isStateError, mark)).toEqual({ type: "cf_agent_state_error", error: "State update rejected" });

    mark = socket.frames.length;
    socket.send({ type: "cf_agent_state", state: { n: 5 } }); // its promise resolves: still not a decision made in time
    expect(await socket.waitFor(isStateError, mark)).toEqual({ type: "cf_agent_state_error", error: "State update rejected" });
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors.at(-1)).toContain("validateStateChange must be synchronous");

    // The server's setState throws a TypeError saying so; the agent still serves.
    expect((await socket.call("trySet", [3])).result).toMatch(/^TypeError: AsyncGate\.validateStateChange must be synchronous/);
    socket.close();
  });
});

describe("a client state that passes validation but cannot be stored", () => {
  it("is answered with cf_agent_state_error, reaches onError, and the agent keeps serving", async () => {
    harness = await startHarness({ Plain });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/plain/deep`);
    await socket.waitForType("cf_agent_mcp_servers");
    const mark = socket.frames.length;
    // Parses, but is too deep to be written back as JSON.
    const depth = 100_000;
    socket.send(`{"type":"cf_agent_state","state":${"[".repeat(depth)}${"]".repeat(depth)}}`);
    expect(await socket.waitFor(isStateError, mark)).toEqual({ type: "cf_agent_state_error", error: "State update rejected" });
    await expect.poll(() => errors.some((message) => message.startsWith("State update rejected"))).toBe(true);
    expect((await socket.call("read")).result).toEqual({ v: 1 });
    socket.close();
  });
});
