/**
 * A socket that wakes or starts its agent is not among the agent's connections until its connect:
 * `onStart` runs first (as in the Agents SDK, where the upgrade is handed over only after start-up),
 * so it neither sees the socket nor reaches it with a broadcast ahead of the handshake.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent, type Connection } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";

const seenAtStart: string[][] = [];

class Lobby extends Agent<unknown, { open: boolean }> {
  initialState = { open: true };

  onStart(): void {
    seenAtStart.push([...this.getConnections()].map((connection) => connection.id));
    this.broadcast("announce");
  }

  onConnect(connection: Connection): void {
    connection.setState({ user: connection.id });
    this.broadcast(`joined:${connection.id}`);
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  seenAtStart.length = 0;
});

describe("a connect that starts its agent", () => {
  it("is not among the connections onStart sees, and gets the identity frame first", async () => {
    harness = await startHarness({ Lobby });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/lobby/l1?_pk=a`);
    await socket.waitFor((frame) => frame === "joined:a");
    expect(seenAtStart).toEqual([[]]);
    expect(socket.frames[0]).toMatchObject({ type: "cf_agent_identity", name: "l1" });
    expect(socket.frames).not.toContain("announce");
    socket.close();
  });
});
