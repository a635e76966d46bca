/**
 * WebSocket edges a client or an agent's own code can reach, over a real socket: an RPC naming a
 * getter that throws, frames sent while onConnect still runs followed by a close, more than
 * LIMITS.maxBytesWhileConnecting sent meanwhile, and close arguments a socket cannot send.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent, LIMITS, type Connection } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";

const order: string[] = [];
let connectGate: Promise<void> = Promise.resolve();
let closeWith: { code?: number; reason?: string } | undefined;
let closeError: string | undefined;

class Edgy extends Agent {
  static callables = ["fine"];
  get boom(): never {
    throw new Error("getter boom");
  }
  fine(): string {
    return "fine";
  }
  async onConnect(connection: Connection): Promise<void> {
    order.push("connect start");
    await connectGate;
    order.push("connect end");
    if (closeWith) {
      try {
        connection.close(closeWith.code, closeWith.reason);
      } catch (error) {
        closeError = (error as Error).message;
        connection.close(4001, "fallback");
      }
    }
  }
  onMessage(_connection: Connection, message: string | ArrayBuffer): void {
    order.push(`message ${typeof message === "string" ? message : "binary"}`);
  }
  onClose(_connection: Connection, code: number): void {
    order.push(`close ${code}`);
  }
  onError(): void {}
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  order.length = 0;
  connectGate = Promise.resolve();
  closeWith = undefined;
  closeError = undefined;
});

describe("agent WebSockets at their edges", () => {
  it("answers an RPC naming a getter that throws with an error reply, and keeps serving", async () => {
    harness = await startHarness({ Edgy });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/edgy/e1`);
    expect(await socket.call("boom")).toMatchObject({ type: "rpc", success: false, error: "getter boom" });
    expect(await socket.call("fine")).toMatchObject({ success: true, result: "fine" });
  });

  it("delivers the frames sent while onConnect ran before the close that followed them", async () => {
    let open!: () => void;
    connectGate = new Promise((resolve) => (open = resolve));
    harness = await startHarness({ Edgy });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/edgy/e2`);
    await expect.poll(() => order).toContain("connect start");
    socket.send("early");
    socket.socket.close(1000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    open();
    await expect.poll(() => order.at(-1)).toBe("close 1000");
    expect(order).toEqual(["connect start", "connect end", "message early", "close 1000"]);
  });

  it("closes a socket that sends more than maxBytesWhileConnecting before onConnect ended", async () => {
    let open!: () => void;
    connectGate = new Promise((resolve) => (open = resolve));
    harness = await startHarness({ Edgy });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/edgy/e3`);
    await expect.poll(() => order).toContain("connect start");
    const chunk = "x".repeat(512 * 1024);
    for (let sent = 0; sent <= LIMITS.maxBytesWhileConnecting; sent += chunk.length) socket.send(chunk);
    const closed = await socket.waitClosed();
    open();
    expect(closed.code).toBe(1009);
    expect(closed.reason).toMatch(/maxBytesWhileConnecting/);
  });

  it("throws at connection.close() for arguments a socket cannot send, as the Workers runtime does", async () => {
    for (const [args, message] of [
      [{ code: 1005 }, /Invalid WebSocket close code: 1005/],
      [{ code: 4000, reason: "é".repeat(100) }, /at most 123 bytes/],
    ] as const) {
      closeWith = args;
      closeError = undefined;
      harness = await startHarness({ Edgy });
      const socket = await TestSocket.open(`${harness.wsUrl}/agents/edgy/e4`);
      // The agent caught the throw and closed with a code it may send: the client sees that one.
      expect(await socket.waitClosed()).toEqual({ code: 4001, reason: "fallback" });
      expect(closeError).toMatch(message);
      await harness.close();
      harness = undefined;
    }
  });
});
