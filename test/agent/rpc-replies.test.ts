/**
 * RPC replies in the Agents SDK's words: an unknown method, one not marked callable, and a thrown
 * value that is not an Error. The fix for a method not marked callable is in the server's log (once
 * per method), not in the frame. A stream whose socket closed says so: send and end return false,
 * even before the close reached the agent.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { Agent, callable, getCurrentAgent, type StreamingResponse } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";

const streamResults: boolean[] = [];

class Board extends Agent {
  @callable() throwsString(): never {
    throw "plain text";
  }

  @callable() throwsError(): never {
    throw new RangeError("out of range");
  }

  hidden(): string {
    return "secret";
  }

  /** Closes its own connection, then, before the close can come back to the agent, sends more. */
  @callable({ streaming: true }) async closeThenSend(stream: StreamingResponse): Promise<void> {
    getCurrentAgent().connection!.close(1000, "bye");
    await new Promise((resolve) => setImmediate(resolve));
    streamResults.push(stream.send(2), stream.end(3));
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  streamResults.length = 0;
  vi.restoreAllMocks();
});

describe("RPC error replies", () => {
  it("use the Agents SDK's texts; the hint for a method not callable is logged once", async () => {
    const warnings: string[] = [];
    vi.spyOn(console, "warn").mockImplementation((...args: unknown[]) => void warnings.push(args.map(String).join(" ")));
    vi.spyOn(console, "error").mockImplementation(() => {});
    harness = await startHarness({ Board });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/board/texts`);
    await socket.waitForType("cf_agent_mcp_servers");

    expect(await socket.call("nope")).toMatchObject({ success: false, error: "Method nope does not exist" });
    expect(await socket.call("hidden")).toMatchObject({ success: false, error: "Method hidden is not callable" });
    expect(await socket.call("hidden")).toMatchObject({ success: false, error: "Method hidden is not callable" });
    expect(await socket.call("throwsString")).toMatchObject({ success: false, error: "Unknown error occurred" });
    expect(await socket.call("throwsError")).toMatchObject({ success: false, error: "out of range" });

    const hints = warnings.filter((line) => line.includes("Board.hidden()"));
    expect(hints).toHaveLength(1);
    expect(hints[0]).toContain("@callable()");
    socket.close();
  });
});

describe("StreamingResponse after its socket closed", () => {
  it("returns false from send and end, as the Agents SDK does", async () => {
    harness = await startHarness({ Board });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/board/stream`);
    await socket.waitForType("cf_agent_mcp_servers");
    socket.send({ type: "rpc", id: "s", method: "closeThenSend", args: [] });
    await expect.poll(() => streamResults.length).toBe(2);
    expect(streamResults).toEqual([false, false]);
    await socket.waitClosed();
  });
});
