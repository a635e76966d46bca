import { describe, expect, test } from "vitest";
import { FencedError, type LogEntry } from "../../../src/cluster/log.ts";
import { MemoryLog } from "../../../src/cluster/replica/memory-log.ts";

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const entry = (seq: number, epoch: number, kind: LogEntry["kind"], payload = bytes(seq)): LogEntry => ({ actorId: "a", seq, epoch, kind, payload });

describe("MemoryLog", () => {
  test("claim bumps the epoch and writes an epoch_start marker at head + 1", () => {
    const log = new MemoryLog();
    expect(log.claim("a")).toEqual({ epoch: 1, startSeq: 1 });
    expect(log.claim("a")).toEqual({ epoch: 2, startSeq: 2 });
    expect(log.history("a")).toEqual({ changesets: [], head: 2 });
    expect(log.entries("a").map((e) => e.kind)).toEqual(["epoch_start", "epoch_start"]);
  });

  test("history: the latest snapshot and the changesets after it, markers left out; a snapshot compacts what is before it", async () => {
    const log = new MemoryLog();
    const { epoch } = log.claim("a");
    await log.append(entry(2, epoch, "changeset"));
    await log.append(entry(3, epoch, "snapshot"));
    await log.append(entry(4, epoch, "changeset"));
    log.claim("b");
    expect(log.history("a")).toEqual({ snapshot: { seq: 3, image: bytes(3) }, changesets: [{ seq: 4, payload: bytes(4) }], head: 4 });
    expect(log.entries("a").map((e) => e.seq)).toEqual([3, 4]);
    expect(log.history("unknown")).toEqual({ changesets: [], head: 0 });
  });

  test("an append under an older epoch is refused with FencedError; a seq at or below the head is refused", async () => {
    const log = new MemoryLog();
    const { epoch } = log.claim("a");
    await log.append(entry(2, epoch, "changeset"));
    expect(log.fence("a")).toBe(2);
    await expect(log.append(entry(4, epoch, "changeset"))).rejects.toBeInstanceOf(FencedError);
    await expect(log.append(entry(3, 2, "changeset"))).rejects.toThrow("a: seq 3 is not after the log's head 3 (an entry may be written once)");
    expect(log.appends).toBe(1);
  });

  test("held appends wait, then are written in order; the fence is checked when they are written", async () => {
    const log = new MemoryLog();
    const { epoch } = log.claim("a");
    log.hold();
    let settled = 0;
    const first = log.append(entry(2, epoch, "changeset")).then(() => settled++);
    await Promise.resolve();
    expect([log.waiting, settled]).toEqual([1, 0]);
    log.release();
    await first;
    expect(settled).toBe(1);
    log.hold();
    const fenced = log.append(entry(3, epoch, "changeset"));
    log.fence("a");
    log.release();
    await expect(fenced).rejects.toBeInstanceOf(FencedError);
  });

  test("the stored payload is a copy: the writer may reuse its buffer", async () => {
    const log = new MemoryLog();
    const { epoch } = log.claim("a");
    const payload = bytes(1, 2, 3);
    await log.append({ actorId: "a", seq: 2, epoch, kind: "changeset", payload });
    payload.fill(0);
    expect(log.history("a").changesets[0]!.payload).toEqual(bytes(1, 2, 3));
  });
});
