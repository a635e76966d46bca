/**
 * Frames that only look like protocol frames (an `rpc` type with a numeric id or without `args`, a
 * `cf_agent_state` without `state`) are not protocol frames to the Agents SDK: its `onMessage` gets
 * them. A class without onMessage (where the SDK drops them silently) gets an error telling what is
 * missing, as an RPC reply when the frame has an id to carry it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent, type Connection } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";

class Echo extends Agent<unknown, { n: number }> {
  initialState = { n: 0 };
  static callables = ["inc"];
  inc(): number {
    this.setState({ n: this.state.n + 1 });
    return this.state.n;
  }
  onMessage(connection: Connection, message: string | ArrayBuffer): void {
    connection.send(`echo:${String(message)}`);
  }
}

class Plain extends Agent<unknown, { n: number }> {
  initialState = { n: 0 };
  static callables = ["inc"];
  inc(): number {
    this.setState({ n: this.state.n + 1 });
    return this.state.n;
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const lookalikes = [
  JSON.stringify({ type: "rpc", id: 5, method: "inc", args: [] }),
  JSON.stringify({ type: "rpc", id: "no-args", method: "inc" }),
  JSON.stringify({ type: "cf_agent_state" }),
];

describe("frames that only look like protocol frames", () => {
  it("reach onMessage unchanged, and neither run a call nor change the state", async () => {
    harness = await startHarness({ Echo });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/echo/e`);
    await socket.waitForType("cf_agent_mcp_servers");
    for (const frame of lookalikes) socket.send(frame);
    socket.send("end");
    await socket.waitFor((frame) => frame === "echo:end");
    expect(socket.frames.filter((frame) => typeof frame === "string")).toEqual([...lookalikes.map((frame) => `echo:${frame}`), "echo:end"]);
    // No call ran (the state is still the initial one) and nothing was answered as an RPC.
    expect(socket.frames.filter((frame) => typeof frame === "object" && (frame.type === "rpc" || frame.type === "hearth_error"))).toEqual([]);
    expect(await socket.call("inc")).toMatchObject({ success: true, result: 1 });
    socket.close();
  });

  it("get an error naming what is missing when the class has no onMessage", async () => {
    harness = await startHarness({ Plain });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/plain/p`);
    await socket.waitForType("cf_agent_mcp_servers");
    const mark = socket.frames.length;
    socket.send(lookalikes[1]!);
    expect(await socket.waitFor((frame) => typeof frame === "object" && frame.id === "no-args", mark)).toEqual({
      type: "rpc",
      id: "no-args",
      success: false,
      error: 'RPC frame needs an "args" array',
    });
    socket.send(lookalikes[0]!);
    expect(await socket.waitForType("hearth_error", mark)).toMatchObject({ error: 'RPC frame needs a string "id"' });
    // The call did not run: the first real one counts from the initial state.
    expect(await socket.call("inc")).toMatchObject({ success: true, result: 1 });
    socket.close();
  });
});
