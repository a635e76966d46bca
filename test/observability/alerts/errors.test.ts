import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AlertEngine, identifyError, MemoryErrorSource, normalizeMessage, topFrameOf } from "../../../src/observability/alerts/index.ts";
import { VirtualClock } from "../../../src/time/clock.ts";
import { START, startReceiver, tempDir, type Receiver } from "./helpers.ts";

function errorAt(message: string, frame: string, name = "Error"): Error {
  const error = new Error(message);
  error.name = name;
  error.stack = `${name}: ${message}\n    at ${frame}\n    at processTicksAndRejections (node:internal/process/task_queues:95:5)`;
  return error;
}

describe("error fingerprints", () => {
  it("normalises numbers, ids, UUIDs and quoted strings out of messages", () => {
    expect(normalizeMessage('User 42 not found in "users" (request 3f2a9c81-1b2c-4d3e-8f90-123456789abc, object 5f1d7a9b0c)')).toBe(
      "User <n> not found in <str> (request <uuid>, object <id>)",
    );
    expect(normalizeMessage("Cannot read properties of undefined (reading 'id')")).toBe("Cannot read properties of undefined (reading <str>)");
    expect(normalizeMessage("timeout after 1.5s on shard7")).toBe("timeout after <n>s on shard<n>");
  });

  it("takes the top stack frame without line, column or directories", () => {
    expect(topFrameOf("Error: x\n    at Chat.onMessage (file:///srv/app/src/chat.ts:12:7)\n    at y (z.js:1:1)")).toBe("Chat.onMessage (chat.ts)");
    expect(topFrameOf("Error: x\n    at /srv/app/worker.js:3:9")).toBe("worker.js");
    expect(topFrameOf(undefined)).toBe("");
  });

  it("gives the same fingerprint to the same bug and different ones to different bugs", () => {
    const a = identifyError(errorAt("user 42 not found", "Chat.load (/srv/a/chat.ts:10:3)"));
    const b = identifyError(errorAt("user 7 not found", "Chat.load (/srv/a/chat.ts:11:9)"));
    const otherPlace = identifyError(errorAt("user 42 not found", "Mail.load (/srv/a/mail.ts:10:3)"));
    const otherName = identifyError(errorAt("user 42 not found", "Chat.load (/srv/a/chat.ts:10:3)", "TypeError"));
    expect(a).toMatchObject({ name: "Error", normalizedMessage: "user <n> not found", topFrame: "Chat.load (chat.ts)" });
    expect(a.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(b.fingerprint).toBe(a.fingerprint);
    expect(otherPlace.fingerprint).not.toBe(a.fingerprint);
    expect(otherName.fingerprint).not.toBe(a.fingerprint);
  });

  it("MemoryErrorSource counts by filter and window, groups by fingerprint, and keeps at most maxErrors", () => {
    const clock = new VirtualClock({ start: START });
    const errors = new MemoryErrorSource({ clock, maxErrors: 20 });
    const first = errors.record(errorAt("user 1 not found", "Chat.load (chat.ts:1:1)"), { class: "Chat", agent: "a", traceId: "t1" });
    errors.record("plain text thrown", { class: "Mail" });
    expect(errors.countSince({}, START)).toBe(2);
    expect(errors.countSince({ class: "Chat" }, START)).toBe(1);
    expect(errors.countSince({ fingerprint: first.fingerprint }, START + 1)).toBe(0);
    expect(errors.sample({ class: "Mail" })).toMatchObject({ name: "Error", message: "plain text thrown", class: "Mail", at: START });
    expect(errors.groups()).toEqual([
      expect.objectContaining({ fingerprint: first.fingerprint, count: 1, class: "Chat", traceId: "t1", agent: { class: "Chat", name: "a" } }),
      expect.objectContaining({ message: "plain text thrown", count: 1 }),
    ]);
    for (let i = 0; i < 50; i++) errors.record(new Error(`n ${i}`));
    expect(errors.size).toBe(20);
    expect(errors.countSince({}, 0)).toBe(20);
    clock.dispose();
  });
});

describe("error rules", () => {
  let dir: ReturnType<typeof tempDir>;
  let receiver: Receiver;
  let clock: VirtualClock;
  let errors: MemoryErrorSource;
  let alerts: AlertEngine;

  beforeEach(async () => {
    dir = tempDir();
    receiver = await startReceiver();
    clock = new VirtualClock({ start: START });
    errors = new MemoryErrorSource({ clock });
    alerts = new AlertEngine({ path: join(dir.path, "alerts.sqlite"), errors, clock });
    alerts.addContactPoint({ name: "hook", kind: "webhook", url: receiver.url });
  });

  afterEach(async () => {
    alerts.close();
    clock.dispose();
    await receiver.close();
    dir.remove();
  });

  const tick = async (by = "15s"): Promise<void> => {
    await clock.advance(by);
    alerts.evaluate();
    await alerts.idle();
  };

  it("fires when one fingerprint's errors in the window exceed the threshold, and resolves when they leave it", async () => {
    const { fingerprint } = errors.record(errorAt("user 1 not found", "Chat.load (chat.ts:1:1)"), { class: "Chat" });
    alerts.addRule({ kind: "error", id: "lookups", name: "Lookups failing", match: { fingerprint }, window: "5m", threshold: 2, severity: "warning", summary: "{{value}}× {{message}} ({{fingerprint}})" });
    errors.record(errorAt("user 2 not found", "Chat.load (chat.ts:1:1)"), { class: "Chat" });
    errors.record(errorAt("disk full", "Store.write (store.ts:1:1)"), { class: "Chat" });
    await tick();
    expect(alerts.status()[0]).toMatchObject({ state: "inactive", value: null, expr: `count(errors{fingerprint="${fingerprint}"}[5m]) > 2` });
    errors.record(errorAt("user 3 not found", "Chat.load (chat.ts:1:1)"), { class: "Chat" });
    await tick();
    expect(alerts.status()[0]).toMatchObject({ state: "firing", value: 3 });
    expect(receiver.received[0]!.body.commonAnnotations).toEqual({ summary: `3× user 3 not found (${fingerprint})` });

    await tick("5m"); // the errors are now older than the window
    expect(alerts.status()[0]!.state).toBe("inactive");
    expect(receiver.received.map((r) => r.body.status)).toEqual(["firing", "resolved"]);
  });

  it("perFingerprint keeps one alert per fingerprint, filtered by error name and class", async () => {
    alerts.addRule({ kind: "error", id: "types", name: "TypeErrors", match: { name: "TypeError", class: "Chat" }, perFingerprint: true, window: "1m", threshold: 1, severity: "critical" });
    const a = errors.record(errorAt("x is undefined", "a (a.ts:1:1)", "TypeError"), { class: "Chat" });
    errors.record(errorAt("x is undefined", "a (a.ts:1:1)", "TypeError"), { class: "Chat" });
    errors.record(errorAt("y is undefined", "b (b.ts:1:1)", "TypeError"), { class: "Chat" });
    errors.record(errorAt("y is undefined", "b (b.ts:1:1)", "TypeError"), { class: "Mail" });
    errors.record(errorAt("y is undefined", "b (b.ts:1:1)", "RangeError"), { class: "Chat" });
    await tick();
    const [status] = alerts.status();
    expect(status!.expr).toBe('count by (fingerprint) (errors{name="TypeError",class="Chat"}[1m]) > 1');
    expect(status!.instances).toEqual([expect.objectContaining({ labels: { fingerprint: a.fingerprint }, state: "firing", value: 2 })]);
    expect(receiver.received[0]!.body.commonLabels).toEqual({ alertname: "TypeErrors", severity: "critical", fingerprint: a.fingerprint });
    expect((receiver.received[0]!.body.commonAnnotations as Record<string, string>).summary).toBe("2 errors in the window (threshold 1): x is undefined");
  });

  it("reports no data when no error source is configured", () => {
    const bare = new AlertEngine({ path: join(dir.path, "bare.sqlite"), clock });
    bare.addRule({ kind: "error", id: "e", name: "E", window: "1m", threshold: 0, severity: "info" });
    bare.evaluate();
    expect(bare.status()[0]).toMatchObject({ health: "no data", healthDetail: "no error source is configured" });
    bare.close();
  });
});
