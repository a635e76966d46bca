import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { genericObservability } from "../../../src/events/index.ts";
import { createLogger } from "../../../src/observability/logs/index.ts";
import {
  LogStore,
  MAX_PROBLEM_NAME_CHARS,
  MAX_PROBLEM_TEXT_CHARS,
  ProblemStore,
  fingerprintOf,
  normaliseMessage,
  topUserFrame,
  type ErrorOccurrence,
} from "../../../src/observability/store/index.ts";
import { cutProblemText } from "../../../src/observability/store/problem-text.ts";
import type { ErrorSource } from "../../../src/observability/alerts/error-source.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

function occurrence(over: Partial<ErrorOccurrence> = {}): ErrorOccurrence {
  return { name: "TypeError", message: "x is undefined", time: 1_000, stack: "TypeError: x\n    at handler (/app/src/chat.ts:10:5)", ...over };
}

describe("fingerprints", () => {
  it("take out numbers, UUIDs, hex ids and quoted strings", () => {
    expect(normaliseMessage('User "ada" not found after 3 tries (id 5f2b9c1e)')).toBe("User <str> not found after <n> tries (id <hex>)");
    expect(normaliseMessage("order 0d9b5f4c-3c61-4f0e-a6c2-1b8c7f2e9a10 failed at 0xdeadbeef, 'later' `x`")).toBe(
      "order <uuid> failed at <hex>, <str> <str>",
    );
    expect(normaliseMessage("decaf coffee costs 2.50")).toBe("decaf coffee costs <n>");
    expect(normaliseMessage("timeout after 1.5s on shard7")).toBe("timeout after <n>s on shard<n>"); // numbers inside words too
  });

  it("take out a quoted string that runs past the part of a long message they read", () => {
    const body = (seed: string) => Array.from({ length: 300 }, (_, i) => `${seed}${i}word`).join(" ");
    const a = `Unexpected token in JSON "${body("alpha")}"`;
    const b = `Unexpected token in JSON "${body("omega")}"`;
    expect(normaliseMessage(a)).toBe("Unexpected token in JSON <str>");
    expect(fingerprintOf("SyntaxError", a, undefined)).toBe(fingerprintOf("SyntaxError", b, undefined));
    // Cut after an escape's backslash, and with single quotes and backticks: the same.
    expect(normaliseMessage(`bad '${"x".repeat(2_046)}\\n more'`)).toBe("bad <str>");
    expect(normaliseMessage(`bad \`${"y".repeat(3_000)}\``)).toBe("bad <str>");
    // A message short enough to be read whole keeps an unclosed quote as it is.
    expect(normaliseMessage("can't parse")).toBe("can't parse");
    // An apostrophe in a long message is not an opening quote: two different errors stay two groups.
    const long = (what: string) => `Couldn't ${what}: ${"detail ".repeat(600)}`;
    expect(normaliseMessage(long("reach the billing service"))).toMatch(/^Couldn't reach the billing service: detail detail/);
    expect(fingerprintOf("Error", long("reach the billing service"), undefined)).not.toBe(fingerprintOf("Error", long("parse the invoice"), undefined));
  });

  it("use the first stack frame in user code, skipping Node, node_modules and Hearth", () => {
    const hearthFile = new URL("../../../src/host/host.ts", import.meta.url).pathname;
    const stack = [
      "TypeError: boom",
      "    at internal (node:internal/process/task_queues:95:5)",
      "    at lib (/app/node_modules/ai/dist/index.js:1:2)",
      `    at Host.invoke (${hearthFile}:200:10)`,
      "    at Chat.reply (/app/src/chat.ts:42:7)",
      "    at /app/src/other.ts:1:1",
      "caused by: Error: inner",
      "    at first (/app/src/inner.ts:1:1)",
    ].join("\n");
    expect(topUserFrame(stack)).toBe("Chat.reply (/app/src/chat.ts)");
    expect(topUserFrame("Error: x\n    at /app/src/other.ts:1:1")).toBe("/app/src/other.ts");
    expect(topUserFrame("Error: x\n    at node:fs:1:1")).toBeUndefined();
    expect(topUserFrame(undefined)).toBeUndefined();
  });

  it("read ES module frames (file:// URLs, decoded) and skip Promise.all's frame and Windows node_modules", () => {
    const hearthUrl = new URL("../../../src/host/host.ts", import.meta.url).href;
    expect(topUserFrame(`Error: x\n    at Host.invoke (${hearthUrl}:1:1)\n    at Chat.onMessage (file:///srv/my%20app/src/chat.ts:12:7)`)).toBe(
      "Chat.onMessage (/srv/my app/src/chat.ts)",
    );
    const viaPromiseAll = "Error: x\n    at fetchOne (/app/node_modules/lib/index.js:1:1)\n    at async Promise.all (index 3)\n    at async loadAll (/app/src/load.ts:8:3)";
    expect(topUserFrame(viaPromiseAll)).toBe("async loadAll (/app/src/load.ts)");
    expect(topUserFrame("Error: x\n    at lib (C:\\app\\node_modules\\ai\\index.js:1:2)\n    at load (C:\\app\\src\\a.ts:3:3)")).toBe("load (C:\\app\\src\\a.ts)");
  });

  it("are equal for the same error with other ids and lines, different for another frame or name", () => {
    const a = fingerprintOf("TypeError", "no user 17", "reply (/app/chat.ts)");
    expect(fingerprintOf("TypeError", "no user 9", "reply (/app/chat.ts)")).toBe(a);
    expect(fingerprintOf("RangeError", "no user 9", "reply (/app/chat.ts)")).not.toBe(a);
    expect(fingerprintOf("TypeError", "no user 9", "send (/app/chat.ts)")).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe("ProblemStore", () => {
  it("groups occurrences, counting them with first and last time, the latest agent, trace and message", () => {
    const problems = new ProblemStore();
    problems.record(occurrence({ message: "no user 1", time: 100, class: "Chat", agent: "a", traceId: "t1" }));
    const group = problems.record(occurrence({ message: "no user 2", time: 300, class: "Chat", agent: "b", traceId: "t2" }));
    problems.record(occurrence({ message: "no user 3", time: 200 })); // late arrival: counted, not the latest
    expect(problems.get(group.fingerprint)).toEqual({
      fingerprint: group.fingerprint,
      name: "TypeError",
      message: "no user 2",
      frame: "handler (/app/src/chat.ts)",
      class: "Chat",
      agent: { class: "Chat", name: "b" },
      count: 3,
      firstAt: 100,
      lastAt: 300,
      traceId: "t2",
    });
    expect(problems.size).toBe(1);
  });

  it("keeps one group for the same bug after an edit moves its line, and tell apart another place", () => {
    const problems = new ProblemStore();
    const at = (line: number, fn = "Chat.load") => `Error: user\n    at ${fn} (/app/src/chat.ts:${line}:3)\n    at processTicksAndRejections (node:internal/process/task_queues:95:5)`;
    const a = problems.record(occurrence({ name: "Error", message: "user 42 not found", stack: at(10) }));
    expect(problems.record(occurrence({ name: "Error", message: "user 7 not found", stack: at(11) })).fingerprint).toBe(a.fingerprint);
    expect(problems.record(occurrence({ name: "Error", message: "user 7 not found", stack: at(10, "Mail.load") })).fingerprint).not.toBe(a.fingerprint);
    expect(problems.get(a.fingerprint)).toMatchObject({ count: 2, frame: "Chat.load (/app/src/chat.ts)" });
  });

  it("keeps long texts cut to their limits, ending with …, and groups by the error as given", () => {
    const problems = new ProblemStore({ now: () => 10 });
    const huge = (id: number) => `user ${id} not found: ${"x".repeat(3_000_000)}`;
    const name = "E".repeat(300);
    const agentClass = "C".repeat(300);
    const fn = "f".repeat(5_000);
    const long = { name, stack: `Error\n    at ${fn} (/app/src/chat.ts:1:1)`, class: agentClass, agent: "a".repeat(5_000), traceId: "t".repeat(5_000) };
    const first = problems.record({ ...long, message: huge(1), time: 1 });
    expect(first.fingerprint).toBe(fingerprintOf(name, huge(1), `${fn} (/app/src/chat.ts)`));
    expect(problems.record({ ...long, message: huge(2), time: 2 }).fingerprint).toBe(first.fingerprint); // the same bug: one group
    expect(problems.record({ ...long, name: `${name}X`, message: huge(3), time: 3 }).fingerprint).not.toBe(first.fingerprint); // differs past the cut: its own

    const cut = (text: string, max: number) => `${text.slice(0, max - 1)}…`;
    expect(problems.get(first.fingerprint)).toEqual({
      fingerprint: first.fingerprint,
      name: cut(name, MAX_PROBLEM_NAME_CHARS),
      message: cut(huge(2), MAX_PROBLEM_TEXT_CHARS),
      frame: cut(`${fn} (/app/src/chat.ts)`, MAX_PROBLEM_TEXT_CHARS),
      class: cut(agentClass, MAX_PROBLEM_NAME_CHARS),
      agent: { class: cut(agentClass, MAX_PROBLEM_NAME_CHARS), name: cut(long.agent, MAX_PROBLEM_TEXT_CHARS) },
      traceId: cut(long.traceId, MAX_PROBLEM_TEXT_CHARS),
      count: 2,
      firstAt: 1,
      lastAt: 2,
    });
    expect(problems.sample({ name, class: agentClass, agent: long.agent })!.message).toHaveLength(MAX_PROBLEM_TEXT_CHARS); // filters are cut alike
    expect(problems.countSince({ fingerprint: first.fingerprint, class: agentClass }, 0)).toBe(2);
    expect(problems.countSince({ name }, 0)).toBe(3); // a name past the limit matches by the part kept
    expect(cutProblemText("ab\u{1F600}\u{1F600}", 4)).toBe("ab…"); // never half a surrogate pair
  });

  it("lists the most recent problems first, filtered by class, agent and since", () => {
    const problems = new ProblemStore();
    problems.record(occurrence({ name: "A", time: 10, class: "Chat", agent: "a" }));
    problems.record(occurrence({ name: "B", time: 30, class: "Mail", agent: "a" }));
    problems.record(occurrence({ name: "C", time: 20, class: "Chat", agent: "b" }));
    expect(problems.recent().map((problem) => problem.name)).toEqual(["B", "C", "A"]);
    expect(problems.recent({ class: "Chat" }).map((problem) => problem.name)).toEqual(["C", "A"]);
    expect(problems.recent({ agent: "a" }).map((problem) => problem.name)).toEqual(["B", "A"]);
    expect(problems.recent({ since: 20, limit: 1 }).map((problem) => problem.name)).toEqual(["B"]);
    expect(() => problems.recent({ limit: 0 })).toThrow("limit must be a whole number from 1 to 100000, got 0");
  });

  it("drops the least recently seen fingerprint beyond maxFingerprints", () => {
    const problems = new ProblemStore({ maxFingerprints: 2 });
    problems.record(occurrence({ name: "A", time: 1 }));
    problems.record(occurrence({ name: "B", time: 2 }));
    problems.record(occurrence({ name: "A", time: 3 }));
    problems.record(occurrence({ name: "C", time: 4 }));
    expect(problems.recent().map((problem) => problem.name)).toEqual(["C", "A"]);
    expect(() => new ProblemStore({ maxFingerprints: 0 })).toThrow("maxFingerprints must be a whole number from 1 to 100000, got 0");
  });

  it("counts errors since a time: 10-second buckets over the last hour, 5-minute ones over the last day", () => {
    const clock = { t: 100_000_000 };
    const problems = new ProblemStore({ now: () => clock.t });
    const a = problems.record(occurrence({ name: "A", time: clock.t - 2 * 86_400_000, class: "Chat" })); // beyond a day
    problems.record(occurrence({ name: "A", time: clock.t - 2 * 3_600_000, class: "Chat" }));
    problems.record(occurrence({ name: "A", time: clock.t - 600_000, class: "Chat" }));
    problems.record(occurrence({ name: "A", time: clock.t - 60_000, class: "Chat" }));
    const b = problems.record(occurrence({ name: "B", time: clock.t - 30_000, class: "Mail" }));
    problems.record(occurrence({ name: "B", time: clock.t, class: "Mail" }));
    expect(problems.countSince({}, clock.t - 120_000)).toBe(3);
    expect(problems.countSince({ class: "Chat" }, clock.t - 120_000)).toBe(1);
    expect(problems.countSince({ name: "B" }, clock.t - 120_000)).toBe(2);
    expect(problems.countSince({ fingerprint: a.fingerprint }, clock.t - 3 * 3_600_000)).toBe(3);
    expect(problems.countSince({ fingerprint: a.fingerprint }, 0)).toBe(3); // a day back at most
    expect(problems.get(a.fingerprint)!.count).toBe(4);
    expect(problems.countByFingerprintSince({}, clock.t - 120_000)).toEqual(new Map([[a.fingerprint, 1], [b.fingerprint, 2]]));
    expect(problems.countByFingerprintSince({ name: "B" }, clock.t - 1_000)).toEqual(new Map([[b.fingerprint, 1]]));
    clock.t += 3_590_000;
    expect(problems.countSince({}, clock.t - 3_590_000)).toBe(1); // the last fine bucket still holds the old "now"
    clock.t += 86_400_000;
    expect(problems.countSince({}, 0)).toBe(0);
  });

  it("answers the alerts module's ErrorSource: counts and the latest sample", () => {
    const problems = new ProblemStore({ now: () => 1_000 });
    const source: ErrorSource = problems;
    problems.record(occurrence({ name: "A", message: "first", time: 100, class: "Chat", agent: "a", traceId: "t1" }));
    problems.record(occurrence({ name: "B", message: "second", time: 200, class: "Chat" }));
    expect(source.sample({ class: "Chat" })).toEqual({ fingerprint: expect.any(String), name: "B", message: "second", at: 200, class: "Chat" });
    expect(source.sample({ name: "A" })).toEqual({ fingerprint: expect.any(String), name: "A", message: "first", at: 100, class: "Chat", agent: "a", traceId: "t1" });
    expect(source.sample({ class: "Mail" })).toBeUndefined();
    expect(source.countSince({ class: "Chat" }, 0)).toBe(2);
  });

  it("counts error-level log entries with an err from the log store, and nothing else", async () => {
    const logs = new LogStore();
    const problems = new ProblemStore();
    cleanups.push(() => logs.close(), problems.observe(logs));
    const log = createLogger({ base: null, onRecord: logs.onRecord, destination: { write: () => true }, now: () => 5 });
    log.error(new RangeError("quota 17 exceeded"));
    log.error(new RangeError("quota 99 exceeded"));
    log.error("a message without an error");
    log.warn(new Error("only a warning"));
    await nextTurn();
    const [problem] = problems.recent();
    expect(problems.size).toBe(1);
    expect(problem).toMatchObject({ name: "RangeError", message: "quota 99 exceeded", count: 2, firstAt: 5, lastAt: 5 });
    expect(problem!.frame).toContain("problems.test.ts");
  });

  it("counts agents:* failure events when asked to", () => {
    const problems = new ProblemStore();
    cleanups.push(problems.observeAgentEvents());
    genericObservability.emit({ type: "rpc:error", agent: "Chat", name: "a", payload: { method: "reply", error: "timeout after 30s" }, timestamp: 50 });
    genericObservability.emit({ type: "rpc:error", agent: "Chat", name: "b", payload: { method: "reply", error: "timeout after 10s" }, timestamp: 60 });
    genericObservability.emit({ type: "rpc", agent: "Chat", name: "b", payload: { method: "reply" }, timestamp: 70 });
    expect(problems.recent()).toEqual([
      expect.objectContaining({ name: "rpc:error", message: "timeout after 10s", count: 2, agent: { class: "Chat", name: "b" }, frame: "reply (Chat)" }),
    ]);
  });
});

describe("ProblemStore over a stored log", () => {
  it("counts the stored errors since a time when it starts, then the new ones", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-problems-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, "logs.sqlite");
    const now = 10_000_000;
    const before = new LogStore({ path, now: () => now });
    const err = (message: string) => ({ type: "Error", message, stack: "Error\n    at save (/app/src/db.ts:3:3)" });
    before.onRecord({ level: 50, time: now - 7_200_000, msg: "too old", err: err("disk 1 full") });
    before.onRecord({ level: 50, time: now - 60_000, agent: "Chat", name: "a", msg: "x", err: err("disk 2 full") });
    before.onRecord({ level: 30, time: now - 50_000, msg: "fine" });
    before.onRecord({ level: 60, time: now - 40_000, agent: "Chat", name: "b", msg: "y", err: err("disk 3 full") });
    before.close();

    const logs = new LogStore({ path, now: () => now });
    const problems = new ProblemStore({ now: () => now });
    cleanups.push(() => logs.close(), problems.observe(logs, { since: now - 3_600_000 }));
    expect(problems.recent()).toEqual([
      expect.objectContaining({ name: "Error", message: "disk 3 full", count: 2, firstAt: now - 60_000, lastAt: now - 40_000, agent: { class: "Chat", name: "b" } }),
    ]);
    logs.onRecord({ level: 50, time: now, msg: "z", err: err("disk 4 full") });
    await nextTurn();
    expect(problems.countSince({}, now - 120_000)).toBe(3);
  });
});
