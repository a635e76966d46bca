import { describe, expect, test } from "vitest";
import { checkListAppend, formatReport, type ListAppendOp, type OpOutcome } from "../support/checker.ts";

const append = (value: unknown, invokedAt: number, completedAt: number, outcome: OpOutcome = "ok", key = "a"): ListAppendOp => ({
  key,
  type: "append",
  value,
  invokedAt,
  completedAt,
  outcome,
});
const read = (result: readonly unknown[] | undefined, invokedAt: number, completedAt: number, outcome: OpOutcome = "ok", key = "a"): ListAppendOp => ({
  key,
  type: "read",
  invokedAt,
  completedAt,
  outcome,
  ...(result ? { result } : {}),
});

/** The anomaly counts that are not zero. */
function anomalies(history: readonly ListAppendOp[], finals: Record<string, readonly unknown[]>): Record<string, number> {
  const report = checkListAppend(history, finals);
  const { lost, duplicated, phantom, failedApplied, vanished, divergent, staleReads, reordered } = report.counts;
  const all = { lost, duplicated, phantom, failedApplied, vanished, divergent, staleReads, reordered };
  return Object.fromEntries(Object.entries(all).filter(([, n]) => n > 0));
}

/**
 * A linearizable list per key: each op takes effect at a random instant inside its interval. `info`
 * appends take effect or not at random; `fail` appends never do; `info` and `fail` reads are recorded
 * without a result. Returns the history and the final lists.
 */
function simulate(seed: number, keys: number, opsPerKey: number): { history: ListAppendOp[]; finals: Record<string, unknown[]> } {
  let state = seed;
  const random = (): number => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const history: ListAppendOp[] = [];
  const finals: Record<string, unknown[]> = {};
  for (let k = 0; k < keys; k++) {
    const key = `agent-${k}`;
    const planned: { op: ListAppendOp; at: number; applies: boolean }[] = [];
    let clock = 0;
    for (let i = 0; i < opsPerKey; i++) {
      clock += random() * 2;
      const invokedAt = clock;
      const completedAt = invokedAt + random() * 10;
      const at = invokedAt + random() * (completedAt - invokedAt);
      const roll = random();
      const outcome: OpOutcome = roll < 0.8 ? "ok" : roll < 0.93 ? "info" : "fail";
      const applies = outcome === "ok" || (outcome === "info" && random() < 0.5);
      const isAppend = random() < 0.6;
      const op: ListAppendOp = isAppend
        ? { key, type: "append", value: `${key}:${i}`, invokedAt, completedAt, outcome }
        : { key, type: "read", invokedAt, completedAt, outcome };
      planned.push({ op, at, applies: isAppend ? applies : outcome === "ok" });
    }
    planned.sort((x, y) => x.at - y.at);
    const list: unknown[] = [];
    for (const entry of planned) {
      let op = entry.op;
      if (op.type === "append" && entry.applies) list.push(op.value);
      if (op.type === "read" && entry.applies) op = { ...op, result: [...list] };
      history.push(op);
    }
    finals[key] = list;
  }
  return { history, finals };
}

describe("the list-append checker", () => {
  test("a clean sequential history has no anomaly", () => {
    const history = [append(1, 0, 1), read([1], 2, 3), append(2, 4, 5), read([1, 2], 6, 7)];
    const report = checkListAppend(history, { a: [1, 2] });
    expect(report.valid).toBe(true);
    expect(report.anomalies).toBe(0);
    expect(report.counts).toMatchObject({ keys: 1, appends: 2, reads: 2, ok: 2, lost: 0, staleReads: 0 });
  });

  test("a clean concurrent history with info and failed ops has no anomaly", () => {
    const history = [
      append(1, 0, 10), // overlaps everything below until 10
      append(2, 1, 3),
      read([2], 2, 4), // saw 2 before 1: fine, 1 was not acknowledged yet
      append(3, 5, 20, "info"), // took effect
      append(4, 6, 7, "info"), // did not
      append(5, 8, 9, "fail"),
      read([2, 1, 3], 11, 12),
      read(undefined, 12, 30, "info"),
      read([2, 1, 3], 21, 22),
    ];
    const report = checkListAppend(history, { a: [2, 1, 3] });
    expect(anomalies(history, { a: [2, 1, 3] })).toEqual({});
    expect(report.counts).toMatchObject({ appends: 5, reads: 3, ok: 2, infoApplied: 1, infoAbsent: 1, failed: 1 });
  });

  test("simulated linearizable histories over many keys are valid", () => {
    const { history, finals } = simulate(7, 20, 1_000);
    const report = checkListAppend(history, finals);
    expect(formatReport(report)).toContain("VALID");
    expect(report.anomalies).toBe(0);
    expect(report.counts.keys).toBe(20);
    expect(report.counts.infoApplied).toBeGreaterThan(0);
    expect(report.counts.infoAbsent).toBeGreaterThan(0);
  });

  test("a simulated history with one acknowledged append removed from the end is caught", () => {
    const { history, finals } = simulate(11, 3, 500);
    const okAppends = history.filter((op) => op.type === "append" && op.outcome === "ok" && op.key === "agent-1");
    const last = finals["agent-1"]!.findLast((value) => okAppends.some((op) => op.value === value));
    finals["agent-1"] = finals["agent-1"]!.filter((value) => value !== last);
    const report = checkListAppend(history, finals);
    expect(report.counts.lost).toBe(1);
    expect(report.examples.lost[0]).toMatchObject({ key: "agent-1" });
  });

  test("lost: acknowledged appends missing from the final list", () => {
    const history = [append(1, 0, 1), append(2, 2, 3), append(3, 4, 5)];
    expect(anomalies(history, { a: [2] })).toEqual({ lost: 2 });
  });

  test("duplicated: values more than once in the final list, each counted once", () => {
    const history = [append(1, 0, 1), append(2, 2, 3), append(3, 4, 5)];
    expect(anomalies(history, { a: [1, 2, 1, 2, 3, 1] })).toEqual({ duplicated: 2 });
  });

  test("phantom: values nobody appended, in the final list or a read", () => {
    const history = [append(1, 0, 1), read([1, 98], 2, 3), append(2, 4, 5)];
    // The read is also not a prefix of the final list.
    expect(anomalies(history, { a: [1, 2, 99] })).toEqual({ phantom: 2, divergent: 1 });
  });

  test("failedApplied: an append recorded as surely failed took effect", () => {
    const history = [append(1, 0, 1), append(2, 2, 3, "fail")];
    expect(anomalies(history, { a: [1, 2] })).toEqual({ failedApplied: 1 });
  });

  test("vanished: an info append observed by a read is gone from the final list", () => {
    const history = [append(1, 0, 1), append(2, 2, 3, "info"), read([1, 2], 4, 5)];
    expect(anomalies(history, { a: [1] })).toEqual({ vanished: 1, divergent: 1 });
  });

  test("info appends may be absent when nobody observed them", () => {
    const history = [append(1, 0, 1), append(2, 2, 3, "info"), read([1], 4, 5)];
    expect(anomalies(history, { a: [1] })).toEqual({});
  });

  test("divergent: a read that is not a prefix of the final list", () => {
    const history = [append(1, 0, 1), append(2, 0, 1), append(3, 0, 1), read([1, 3], 2, 3), read([2, 1], 4, 5)];
    expect(anomalies(history, { a: [1, 2, 3] })).toEqual({ divergent: 2 });
  });

  test("staleReads: a read misses an append acknowledged before it was invoked", () => {
    const history = [append(1, 0, 1), append(2, 2, 3), read([1], 4, 5)];
    expect(anomalies(history, { a: [1, 2] })).toEqual({ staleReads: 1 });
  });

  test("staleReads: a read shorter than a read that completed before it was invoked", () => {
    const history = [append(1, 0, 1), append(2, 0, 10), read([1, 2], 2, 3), read([1], 4, 5), read([1], 2.5, 6)];
    // The last read overlaps the first one, so it may be ordered before it.
    expect(anomalies(history, { a: [1, 2] })).toEqual({ staleReads: 1 });
  });

  test("staleReads: an observed info append disappears from a later read", () => {
    const history = [append(1, 0, 1), append(2, 2, 3, "info"), read([1, 2], 4, 5), read([1], 6, 7)];
    expect(anomalies(history, { a: [1, 2] })).toEqual({ staleReads: 1 });
  });

  test("ops that overlap in time are never stale or reordered", () => {
    const history = [append(1, 0, 5), read([], 1, 6), append(2, 4, 8), read([2], 3, 9)];
    expect(anomalies(history, { a: [2, 1] })).toEqual({});
  });

  test("reordered: an append lands before one acknowledged before it was invoked", () => {
    const history = [append(1, 0, 1), append(2, 2, 3), append(3, 4, 5, "info")];
    expect(anomalies(history, { a: [3, 2, 1] })).toEqual({ reordered: 2 });
  });

  test("reordered: a read saw a value before its append was invoked", () => {
    const history = [read([1], 0, 1), append(1, 2, 3)];
    expect(anomalies(history, { a: [1] })).toEqual({ reordered: 1 });
  });

  test("keys are checked apart, and finals may be a Map", () => {
    const history = [append(1, 0, 1, "ok", "x"), append(1, 0, 1, "ok", "y"), read([1], 2, 3, "ok", "y")];
    const report = checkListAppend(history, new Map([["x", []], ["y", [1]], ["z", []]]));
    expect(report.counts).toMatchObject({ keys: 3, lost: 1, ok: 1 });
    expect(report.examples.lost).toEqual([{ key: "x", message: "value 1 acknowledged [0.0–1.0 ms] is not in the final list" }]);
  });

  test("examples are limited, and the text says how many more there are", () => {
    const history = [1, 2, 3, 4].map((value) => append(value, value, value + 0.5));
    const report = checkListAppend(history, { a: [] }, { examples: 1 });
    expect(report.counts.lost).toBe(4);
    expect(report.examples.lost).toHaveLength(1);
    const text = formatReport(report);
    expect(text).toContain("list-append check: 4 ANOMALIES — 1 keys, 4 appends (0 ok, 0 info applied, 0 info absent, 0 failed), 0 reads");
    expect(text).toContain("lost (ok appends missing from the final list): 4");
    expect(text).toContain('key "a": value 1 acknowledged [1.0–1.5 ms] is not in the final list');
    expect(text).toContain("… and 3 more");
  });

  test("malformed histories are refused with what is wrong", () => {
    expect(() => checkListAppend([append(1, 0, 1), append(1, 2, 3)], { a: [1] })).toThrow(
      'checkListAppend: value 1 appended twice on key "a"; values must be unique per key',
    );
    expect(() => checkListAppend([append(1, 0, 1)], {})).toThrow('checkListAppend: no final list for key "a"');
    expect(() => checkListAppend([read(undefined, 0, 1)], { a: [] })).toThrow('checkListAppend: read on key "a": an ok read needs a result list');
    expect(() => checkListAppend([append(1, 2, 1)], { a: [] })).toThrow(
      'checkListAppend: append on key "a": needs finite times with completedAt >= invokedAt, got 2 → 1',
    );
    expect(() => checkListAppend([append(undefined, 0, 1)], { a: [] })).toThrow('checkListAppend: append on key "a": an append needs a value');
    expect(() => checkListAppend([{ ...append(1, 0, 1), outcome: "maybe" as OpOutcome }], { a: [] })).toThrow(
      'checkListAppend: append on key "a": outcome must be "ok", "fail" or "info", got "maybe"',
    );
    expect(() => checkListAppend([{ ...append(1, 0, 1), type: "write" as "append" }], { a: [] })).toThrow(
      'checkListAppend: write on key "a": type must be "append" or "read"',
    );
    expect(() => checkListAppend([{ ...append(1, 0, 1), key: 7 as unknown as string }], { a: [] })).toThrow(
      "checkListAppend: an op's key must be a string, got 7",
    );
  });
});
