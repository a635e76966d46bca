import net from "node:net";
import pg from "pg";
import { describe, expect, test } from "vitest";
import { classifyError, createHistoryRecorder, NotSentError } from "../support/recorder.ts";

/** A loopback port nobody listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A clock that moves one millisecond per reading, so every stamp is distinct and predictable. */
function ticking(): () => number {
  let t = 0;
  return () => ++t;
}

describe("classifyError", () => {
  test("a refused connection is fail: fetch, pg and a raw socket", async () => {
    const port = await closedPort();
    const fetchError = await fetch(`http://127.0.0.1:${port}/`).catch((error: unknown) => error);
    expect(classifyError(fetchError)).toBe("fail");
    const client = new pg.Client({ connectionString: `postgres://hearth@127.0.0.1:${port}/x` });
    const pgError = await client.connect().catch((error: unknown) => error);
    expect(classifyError(pgError)).toBe("fail");
    const socketError = await new Promise((resolve) => net.connect(port, "127.0.0.1").on("error", resolve));
    expect(classifyError(socketError)).toBe("fail");
  });

  test("NotSentError, directly or as a cause, is fail", () => {
    expect(classifyError(new NotSentError("no route"))).toBe("fail");
    expect(classifyError(new Error("wrapped", { cause: new NotSentError("no route") }))).toBe("fail");
  });

  test("an AggregateError is fail only when every attempt was refused", () => {
    const refused = (): Error => Object.assign(new Error("refused"), { code: "ECONNREFUSED" });
    const reset = Object.assign(new Error("reset"), { code: "ECONNRESET" });
    expect(classifyError(new AggregateError([refused(), refused()]))).toBe("fail");
    expect(classifyError(new AggregateError([refused(), reset]))).toBe("info");
  });

  test("resets, timeouts, server errors and non-errors are info", () => {
    expect(classifyError(Object.assign(new Error("reset"), { code: "ECONNRESET" }))).toBe("info");
    expect(classifyError(new DOMException("timed out", "TimeoutError"))).toBe("info");
    expect(classifyError(new Error("Query read timeout"))).toBe("info");
    expect(classifyError("boom")).toBe("info");
    expect(classifyError(undefined)).toBe("info");
  });
});

describe("the history recorder", () => {
  test("records appends and reads with their times, outcome and a copy of the list read", async () => {
    const recorder = createHistoryRecorder({ now: ticking() });
    const list = [1];
    expect(await recorder.append("a", 1, async () => "stored")).toEqual({ outcome: "ok", result: "stored" });
    expect(await recorder.read("a", async () => list)).toEqual({ outcome: "ok", result: [1] });
    list.push(2);
    expect(recorder.history).toEqual([
      { key: "a", type: "append", value: 1, invokedAt: 1, completedAt: 2, outcome: "ok" },
      { key: "a", type: "read", invokedAt: 3, completedAt: 4, outcome: "ok", result: [1] },
    ]);
    expect(recorder.check({ a: [1] }).valid).toBe(true);
  });

  test("errors are returned with their class, never thrown", async () => {
    const recorder = createHistoryRecorder({ now: ticking() });
    const refused = Object.assign(new Error("refused"), { code: "ECONNREFUSED" });
    const timeout = new Error("timeout");
    expect(await recorder.append("a", 1, () => Promise.reject(refused))).toEqual({ outcome: "fail", error: refused });
    expect(await recorder.append("a", 2, () => Promise.reject(timeout))).toEqual({ outcome: "info", error: timeout });
    expect(await recorder.read("a", () => Promise.reject(timeout))).toEqual({ outcome: "info", error: timeout });
    expect(recorder.history.map((op) => op.outcome)).toEqual(["fail", "info", "info"]);
    const report = recorder.check({ a: [2] });
    expect(report.counts).toMatchObject({ failed: 1, infoApplied: 1, reads: 0 });
    expect(report.valid).toBe(true);
  });

  test("a custom classifier comes first and falls back to classifyError", async () => {
    const recorder = createHistoryRecorder({ classify: (error) => (error === "rejected by validation" ? "fail" : undefined) });
    await recorder.append("a", 1, () => Promise.reject("rejected by validation"));
    await recorder.append("a", 2, () => Promise.reject(new Error("reset")));
    expect(recorder.history.map((op) => op.outcome)).toEqual(["fail", "info"]);
  });

  test("ops still running appear as info", async () => {
    const recorder = createHistoryRecorder({ now: ticking() });
    let finish = (): void => {};
    const hanging = recorder.append("a", 1, () => new Promise<void>((resolve) => (finish = resolve)));
    expect(recorder.pending).toBe(1);
    expect(recorder.history).toEqual([{ key: "a", type: "append", value: 1, invokedAt: 1, completedAt: 2, outcome: "info" }]);
    finish();
    await hanging;
    expect(recorder.pending).toBe(0);
    expect(recorder.history[0]).toMatchObject({ outcome: "ok" });
  });

  test("a read function that does not return a list is a test bug and throws", async () => {
    const recorder = createHistoryRecorder();
    await expect(recorder.read("a", async () => "nope" as unknown as unknown[])).rejects.toThrow(
      'recorder.read: the read of key "a" returned string, not a list',
    );
    expect(recorder.pending).toBe(0);
  });
});
