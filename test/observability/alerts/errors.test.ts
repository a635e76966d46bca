import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AlertEngine } from "../../../src/observability/alerts/index.ts";
import { createLogger } from "../../../src/observability/logs/index.ts";
import { LogStore, ProblemStore, type ErrorOccurrence } from "../../../src/observability/store/index.ts";
import { VirtualClock } from "../../../src/time/clock.ts";
import { START, startReceiver, tempDir, type Receiver } from "./helpers.ts";

/** An error thrown in `frame` (a user file), as the problems store is given it. */
function errorAt(message: string, frame: string, name = "Error"): Omit<ErrorOccurrence, "time"> {
  return { name, message, stack: `${name}: ${message}\n    at ${frame}\n    at processTicksAndRejections (node:internal/process/task_queues:95:5)` };
}

describe("error rules", () => {
  let dir: ReturnType<typeof tempDir>;
  let receiver: Receiver;
  let clock: VirtualClock;
  let errors: ProblemStore;
  let record: (error: Omit<ErrorOccurrence, "time">, where?: { class?: string; agent?: string; traceId?: string }) => { fingerprint: string };
  let alerts: AlertEngine;

  beforeEach(async () => {
    dir = tempDir();
    receiver = await startReceiver();
    clock = new VirtualClock({ start: START });
    errors = new ProblemStore({ now: () => clock.now() });
    record = (error, where = {}) => errors.record({ ...error, ...where, time: clock.now() });
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
    const { fingerprint } = record(errorAt("user 1 not found", "Chat.load (chat.ts:1:1)"), { class: "Chat" });
    alerts.addRule({ kind: "error", id: "lookups", name: "Lookups failing", match: { fingerprint }, window: "5m", threshold: 2, severity: "warning", summary: "{{value}}× {{message}} ({{fingerprint}})" });
    record(errorAt("user 2 not found", "Chat.load (chat.ts:1:1)"), { class: "Chat" });
    record(errorAt("disk full", "Store.write (store.ts:1:1)"), { class: "Chat" });
    await tick();
    expect(alerts.status()[0]).toMatchObject({ state: "inactive", value: null, expr: `count(errors{fingerprint="${fingerprint}"}[5m]) > 2` });
    record(errorAt("user 3 not found", "Chat.load (chat.ts:1:1)"), { class: "Chat" });
    await tick();
    expect(alerts.status()[0]).toMatchObject({ state: "firing", value: 3 });
    expect(receiver.received[0]!.body.commonAnnotations).toEqual({ summary: `3× user 3 not found (${fingerprint})` });

    await tick("5m"); // the errors are now older than the window
    expect(alerts.status()[0]!.state).toBe("inactive");
    expect(receiver.received.map((r) => r.body.status)).toEqual(["firing", "resolved"]);
  });

  it("perFingerprint keeps one alert per fingerprint, filtered by error name and class", async () => {
    alerts.addRule({ kind: "error", id: "types", name: "TypeErrors", match: { name: "TypeError", class: "Chat" }, perFingerprint: true, window: "1m", threshold: 1, severity: "critical" });
    const a = record(errorAt("x is undefined", "a (a.ts:1:1)", "TypeError"), { class: "Chat" });
    record(errorAt("x is undefined", "a (a.ts:1:1)", "TypeError"), { class: "Chat" });
    record(errorAt("y is undefined", "b (b.ts:1:1)", "TypeError"), { class: "Chat" });
    record(errorAt("y is undefined", "b (b.ts:1:1)", "TypeError"), { class: "Mail" }); // counts for Mail only: one in Chat, not above 1
    record(errorAt("y is undefined", "b (b.ts:1:1)", "RangeError"), { class: "Chat" });
    await tick();
    const [status] = alerts.status();
    expect(status!.expr).toBe('count by (fingerprint) (errors{name="TypeError",class="Chat"}[1m]) > 1');
    expect(status!.instances).toEqual([expect.objectContaining({ labels: { fingerprint: a.fingerprint }, state: "firing", value: 2 })]);
    expect(receiver.received[0]!.body.commonLabels).toEqual({ alertname: "TypeErrors", severity: "critical", fingerprint: a.fingerprint });
    expect((receiver.received[0]!.body.commonAnnotations as Record<string, string>).summary).toBe("2 errors in the window (threshold 1): x is undefined");
  });

  it("counts each error of a fingerprint under its own class, whichever class had the group's latest one", async () => {
    alerts.addRule({ kind: "error", id: "chat", name: "Chat bug", match: { class: "Chat" }, window: "5m", threshold: 1, severity: "warning", summary: "{{value}}× in Chat: {{message}}" });
    alerts.addRule({ kind: "error", id: "mail", name: "Mail bug", match: { class: "Mail" }, window: "5m", threshold: 0, severity: "warning" });
    alerts.addRule({ kind: "error", id: "inbox", name: "Inbox bug", match: { class: "Inbox" }, window: "5m", threshold: 0, severity: "warning" });
    const shared = errorAt("x is undefined", "Base.load (base.ts:1:1)", "TypeError"); // code all the classes share: one fingerprint
    record(shared, { class: "Chat" });
    record(shared, { class: "Chat" });
    record(shared, { class: "Mail" }); // the group's latest occurrence
    await tick();
    expect(alerts.status().map(({ id, state, value }) => ({ id, state, value }))).toEqual([
      { id: "chat", state: "firing", value: 2 },
      { id: "mail", state: "firing", value: 1 },
      { id: "inbox", state: "inactive", value: null },
    ]);
    const chat = receiver.received.find((r) => (r.body.commonLabels as Record<string, string>).alertname === "Chat bug");
    expect(chat!.body.commonAnnotations).toEqual({ summary: "2× in Chat: x is undefined" });
  });

  it("counts errors logged through the log store, as `hearth dev` wires it: the same bug on another line is one fingerprint", async () => {
    const logs = new LogStore();
    const stop = errors.observe(logs);
    const log = createLogger({ base: null, onRecord: logs.onRecord, destination: { write: () => true }, now: () => clock.now() });
    const chat = log.child({ agent: "Chat", name: "room-1" });
    const lookup = (id: number, line: number): Error =>
      Object.assign(new Error(`user ${id} not found`), { stack: `Error: user ${id} not found\n    at Chat.load (/srv/app/src/chat.ts:${line}:3)` });
    alerts.addRule({ kind: "error", id: "same-bug", name: "Same bug", match: { class: "Chat" }, perFingerprint: true, window: "5m", threshold: 1, severity: "warning", summary: "{{value}}× {{message}}" });
    chat.error(lookup(1, 10));
    chat.error(lookup(2, 12)); // edited file: the frame moved, the group stays
    log.error(new Error("outside any agent"));
    logs.flush(); // what the next event-loop turn would do
    await tick();
    expect(alerts.status()[0]!.instances).toEqual([expect.objectContaining({ state: "firing", value: 2 })]);
    expect(receiver.received[0]!.body.commonAnnotations).toEqual({ summary: "2× user 2 not found" });
    stop();
    logs.close();
  });

  it("reports no data when no error source is configured", () => {
    const bare = new AlertEngine({ path: join(dir.path, "bare.sqlite"), clock });
    bare.addRule({ kind: "error", id: "e", name: "E", window: "1m", threshold: 0, severity: "info" });
    bare.evaluate();
    expect(bare.status()[0]).toMatchObject({ health: "no data", healthDetail: "no error source is configured" });
    bare.close();
  });
});
