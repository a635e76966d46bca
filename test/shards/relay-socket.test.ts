import { describe, expect, it } from "vitest";
import { RelaySocket } from "../../src/shards/relay-socket.ts";

describe("RelaySocket", () => {
  it("keeps frames that come before anyone listens (a client may send with its upgrade) and delivers them first, in order", async () => {
    const relay = new RelaySocket({ frames: () => {}, close: () => {} });
    relay.receive("first");
    relay.receive(new TextEncoder().encode("second").buffer);
    const seen: string[] = [];
    relay.on("message", (data: Buffer, binary: boolean) => seen.push(`${binary ? "bytes" : "text"}:${data.toString()}`));
    relay.receive("third"); // before the early ones are delivered: after them
    expect(seen).toEqual([]);
    await Promise.resolve();
    expect(seen).toEqual(["text:first", "bytes:second", "text:third"]);
    relay.receive("fourth");
    expect(seen.at(-1)).toBe("text:fourth");
  });

  it("drops early frames when the client closes before anyone listens", async () => {
    const relay = new RelaySocket({ frames: () => {}, close: () => {} });
    relay.receive("lost");
    const closed: number[] = [];
    relay.on("close", (code: number) => closed.push(code));
    relay.receiveClose(1000, "bye");
    const seen: string[] = [];
    relay.on("message", (data: Buffer) => seen.push(data.toString()));
    await Promise.resolve();
    expect(closed).toEqual([1000]);
    expect(seen).toEqual([]);
    expect(relay.readyState).toBe(3);
  });
});
