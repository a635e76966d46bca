/**
 * Close reasons made from error messages: cut to a close frame's 123 bytes at a character boundary,
 * whatever the message's length or characters.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { Agent } from "../../src/index.ts";
import { closeReasonWithin, MAX_CLOSE_REASON_BYTES } from "../../src/websocket/close-reason.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";

describe("closeReasonWithin", () => {
  it("keeps a reason that fits, and cuts a longer one at a character boundary with an ellipsis", () => {
    expect(closeReasonWithin("bye")).toBe("bye");
    const exact = "é".repeat(61) + "x"; // 123 bytes
    expect(closeReasonWithin(exact)).toBe(exact);
    for (const unit of ["x", "é", "€", "😀", "a😀", "😀é"]) {
      for (let repeat = 40; repeat < 140; repeat += 7) {
        const reason = unit.repeat(repeat);
        const cut = closeReasonWithin(reason);
        expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
        if (Buffer.byteLength(reason) > MAX_CLOSE_REASON_BYTES) {
          expect(cut.endsWith("…")).toBe(true);
          expect(reason.startsWith(cut.slice(0, -1))).toBe(true);
          expect(cut.slice(0, -1).isWellFormed()).toBe(true); // no half of a surrogate pair
          expect(Buffer.byteLength(cut)).toBeGreaterThan(MAX_CLOSE_REASON_BYTES - 7); // no more cut than needed
        } else expect(cut).toBe(reason);
      }
    }
  });

  it("cuts a reason of megabytes in one pass", () => {
    const cut = closeReasonWithin(`failed: ${"x".repeat(4_000_000)}`);
    expect(cut).toBe(`failed: ${"x".repeat(MAX_CLOSE_REASON_BYTES - 3 - 8)}…`);
  });
});

class Fussy extends Agent<unknown, unknown> {
  override onConnect(): void {
    throw new Error(`refused: ${"é".repeat(2_000_000)}`);
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("an agent whose onConnect throws with a huge message", () => {
  it("closes the socket with 1011 and the start of the message, when the host exposes errors", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {}); // the agent's error, printed whole
    harness = await startHarness({ Fussy }, { exposeErrors: true });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/fussy/one`);
    const closed = await socket.waitClosed();
    expect(closed.code).toBe(1011);
    expect(closed.reason.startsWith("Agent failed in onConnect: refused: éé")).toBe(true);
    expect(Buffer.byteLength(closed.reason)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
    logged.mockRestore();
  });
});
