import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AlertEngine } from "../../../src/observability/alerts/index.ts";
import { MetricsRegistry, type Gauge } from "../../../src/observability/metrics/index.ts";
import { VirtualClock } from "../../../src/time/clock.ts";
import { START, startReceiver, tempDir, waitFor, type Receiver } from "./helpers.ts";

describe("alert states, repeats and silences", () => {
  let dir: ReturnType<typeof tempDir>;
  let receiver: Receiver;
  let clock: VirtualClock;
  let alerts: AlertEngine;
  let depth: Gauge<"class">;

  beforeEach(async () => {
    dir = tempDir();
    receiver = await startReceiver();
    clock = new VirtualClock({ start: START });
    const registry = new MetricsRegistry();
    depth = registry.gauge({ name: "app_depth", help: "Depth.", labelNames: ["class"] });
    alerts = new AlertEngine({ path: join(dir.path, "alerts.sqlite"), metrics: registry, clock, interval: "15s" });
    alerts.addContactPoint({ name: "hook", kind: "webhook", url: receiver.url });
  });

  afterEach(async () => {
    alerts.close();
    clock.dispose();
    await receiver.close();
    dir.remove();
  });

  const events = (): string[] => alerts.history({ limit: 500 }).items.map((i) => `${i.state}${i.labels.class ? `:${i.labels.class}` : ""}`).reverse();
  const tick = async (by = "15s"): Promise<void> => {
    await clock.advance(by);
    alerts.evaluate();
    await alerts.idle();
  };

  it("a pending alert whose condition stops holding before `for` goes back to inactive without notifying", async () => {
    alerts.addRule({ kind: "metric", id: "deep", name: "Deep", metric: "app_depth", threshold: 10, for: "1m", severity: "warning" });
    depth.set({ class: "Chat" }, 20);
    await tick();
    await tick();
    expect(alerts.status()[0]).toMatchObject({ state: "pending", since: START + 15_000 });
    depth.set({ class: "Chat" }, 5);
    await tick();
    expect(alerts.status()[0]!.state).toBe("inactive");
    expect(events()).toEqual(["pending:Chat", "inactive:Chat"]);
    expect(receiver.received).toHaveLength(0);

    depth.set({ class: "Chat" }, 20);
    await tick(); // pending again from here: `for` counts from the new start
    for (let i = 0; i < 3; i++) await tick();
    expect(alerts.status()[0]!.state).toBe("pending");
    await tick(); // 60 s held
    expect(alerts.status()[0]).toMatchObject({ state: "firing", since: START + 120_000 });
    expect(receiver.received).toHaveLength(1);
  });

  it("fires at once without `for`, repeats a long-firing alert every repeatInterval, and keeps firing for keepFiringFor", async () => {
    alerts.addRule({ kind: "metric", id: "deep", name: "Deep", metric: "app_depth", threshold: 10, severity: "critical", repeatInterval: "1m", keepFiringFor: "30s" });
    depth.set({ class: "Chat" }, 20);
    await tick();
    expect(alerts.status()[0]!.state).toBe("firing");
    expect(receiver.received).toHaveLength(1);
    for (let i = 0; i < 3; i++) await tick();
    expect(receiver.received).toHaveLength(1);
    await tick(); // 60 s after the first notification
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received[1]!.body.status).toBe("firing");

    depth.set({ class: "Chat" }, 0);
    await tick(); // 15 s without: still firing (keepFiringFor 30 s)
    expect(alerts.status()[0]!.state).toBe("firing");
    await tick(); // 30 s without: resolved
    expect(alerts.status()[0]!.state).toBe("inactive");
    expect(receiver.received.map((r) => r.body.status)).toEqual(["firing", "firing", "resolved"]);
    expect(events().filter((e) => !e.startsWith("delivered"))).toEqual(["firing:Chat", "repeat:Chat", "resolved:Chat"]);
  });

  it("keeps one alert per label set", async () => {
    alerts.addRule({ kind: "metric", id: "deep", name: "Deep", metric: "app_depth", threshold: 10, severity: "warning" });
    depth.set({ class: "Chat" }, 20);
    depth.set({ class: "Mail" }, 30);
    depth.set({ class: "Idle" }, 1);
    await tick();
    const [status] = alerts.status();
    expect(status!.instances.map((i) => [i.labels.class, i.state, i.value])).toEqual([["Chat", "firing", 20], ["Mail", "firing", 30]]);
    expect(receiver.received.map((r) => (r.body.commonLabels as Record<string, string>).class).sort()).toEqual(["Chat", "Mail"]);
  });

  it("a silenced alert still changes state and is recorded, but is not delivered; others still are", async () => {
    alerts.addRule({ kind: "metric", id: "deep", name: "Deep", metric: "app_depth", threshold: 10, severity: "warning" });
    const silence = alerts.addSilence({ matchers: { class: "Chat" }, until: START + 60 * 60_000, comment: "deploying", createdBy: "ada" });
    expect(alerts.listSilences()).toEqual([{ id: silence.id, matchers: { class: "Chat" }, until: START + 3_600_000, comment: "deploying", createdBy: "ada", createdAt: START }]);
    depth.set({ class: "Chat" }, 20);
    depth.set({ class: "Mail" }, 20);
    await tick();
    expect(receiver.received.map((r) => (r.body.commonLabels as Record<string, string>).class)).toEqual(["Mail"]);
    const chat = alerts.status()[0]!.instances.find((i) => i.labels.class === "Chat")!;
    expect(chat).toMatchObject({ state: "firing", silencedBy: silence.id });
    const firingChat = alerts.history({ limit: 500 }).items.find((i) => i.state === "firing" && i.labels.class === "Chat")!;
    expect(firingChat.detail).toBe(`silenced by ${silence.id}`);

    // Deleting the silence: the alert, still firing, is delivered at the next evaluation.
    expect(alerts.deleteSilence(silence.id)).toBe(true);
    await tick();
    expect(receiver.received.map((r) => (r.body.commonLabels as Record<string, string>).class)).toEqual(["Mail", "Chat"]);
  });

  it("silences match on rule, severity and labels, and end at `until`", async () => {
    alerts.addRule({ kind: "metric", id: "deep", name: "Deep", metric: "app_depth", threshold: 10, severity: "warning" });
    alerts.addSilence({ matchers: { rule: "deep", severity: "warning", labels: { class: "Chat" } }, until: START + 30_000 });
    alerts.addSilence({ matchers: { rule: "other" }, until: START + 3_600_000 });
    alerts.addSilence({ matchers: { severity: "critical" }, until: START + 3_600_000 });
    depth.set({ class: "Chat" }, 20);
    await tick();
    expect(receiver.received).toHaveLength(0);
    await tick(); // 30 s: the silence has ended
    await waitFor(() => receiver.received.length === 1, "the notification after the silence");
    expect(alerts.listSilences().map((s) => s.matchers)).toEqual([{ rule: "other" }, { severity: "critical" }]);
    expect(alerts.listSilences({ includeExpired: true })).toHaveLength(3);
  });

  it("a silence needs a matcher and an end in the future", () => {
    expect(() => alerts.addSilence({ matchers: {}, until: START + 1000 })).toThrow("silence.matchers must match something: give rule, severity, class or labels");
    expect(() => alerts.addSilence({ matchers: { rule: "x" }, until: START - 1 })).toThrow("silence.until must be in the future, got 2025-12-31T23:59:59.999Z");
    expect(() => alerts.addSilence({ matchers: { severity: "loud" as "info" }, until: START + 1000 })).toThrow(
      'silence.matchers.severity must be one of critical, warning, info, got "loud"',
    );
    expect(() => alerts.addSilence({ matchers: { colour: "red" } as never, until: START + 1000 })).toThrow(
      "silence.matchers.colour is not a silence matcher (rule, severity, class, labels)",
    );
    expect(() => alerts.addSilence({ matchers: { rule: "x" }, until: "tomorrow" as never })).toThrow('silence.until must be epoch milliseconds or a Date, got "tomorrow"');
    expect(alerts.listSilences()).toEqual([]);
  });
});
