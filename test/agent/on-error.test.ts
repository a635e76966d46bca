import { afterEach, describe, expect, it } from "vitest";
import { Agent, callable, type Connection } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";

const received: unknown[] = [];

/** Overrides onError with one argument, as Cloudflare's Agent calls it for handler errors. */
class Fails extends Agent<unknown, { n: number }> {
  initialState = { n: 0 };

  onConnect(_connection: Connection): void {
    if (this.name === "at-connect") throw new Error("connect failed");
  }

  onMessage(_connection: Connection, message: string | ArrayBuffer): void {
    if (message === "boom") throw new Error("message failed");
  }

  @callable() explode(): never {
    throw new TypeError("call failed");
  }

  override onError(error: unknown): void {
    received.push(error);
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  received.length = 0;
});

describe("onError", () => {
  it("gets the error itself for errors of onConnect, onMessage and a callable, as one argument", async () => {
    harness = await startHarness({ Fails });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/fails/a`);
    await socket.waitForType("cf_agent_state");
    socket.send("boom");
    expect(await socket.call("explode")).toMatchObject({ success: false, error: "call failed" });
    await TestSocket.open(`${harness.wsUrl}/agents/fails/at-connect`).catch(() => undefined);
    await expect.poll(() => received.length).toBe(3);
    expect(received.map((error) => (error instanceof Error ? error.message : `not an error: ${String(error)}`)).sort()).toEqual(["call failed", "connect failed", "message failed"]);
    socket.close();
  });
});
