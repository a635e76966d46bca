/**
 * One thread and two behave the same (decision 0018): each case runs on a plain host and on two shards
 * linked as `--threads 2` links its threads, with the agent on the second shard.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TestSocket } from "../support/harness.ts";
import { startProbes, type Probes } from "./fixtures/probe.ts";

describe.each([1, 2] as const)("with %i thread(s)", (threads) => {
  let probes: Probes;
  beforeEach(async () => {
    probes = await startProbes(threads);
  });
  afterEach(async () => {
    await probes.stop();
  });

  it("refuses a close of a relayed WebSocket with a code no endpoint may send or a reason over 123 bytes at the agent, and the socket carries on", async () => {
    const name = probes.nameOn(1);
    // A route of the worker's own: the upgrade is answered on the thread it reached, the socket relayed.
    const socket = await TestSocket.open(`${probes.nodes[0]!.server.url.replace("http", "ws")}/room/${name}`);
    await socket.waitForType("cf_agent_identity");
    for (const [close, error] of [
      ["close 1006 0", "threw TypeError: First argument must be a valid error code number"],
      ["close 2000 0", "threw TypeError: First argument must be a valid error code number"],
      ["close 1000 124", "threw RangeError: The message must not be greater than 123 bytes"],
    ]) {
      socket.send(close!);
      expect(await socket.waitFor((frame) => typeof frame === "string" && frame.startsWith("threw"), socket.frames.length)).toBe(error);
    }
    socket.send("close 4001 123");
    expect(await socket.waitClosed()).toEqual({ code: 4001, reason: "r".repeat(123) });
    // The server carries on.
    const stub = probes.probes.getByName(name);
    expect(await stub.where()).toBe(`shard-${threads - 1}`);
  });
});
