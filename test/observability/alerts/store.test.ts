import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AlertEngine, type AlertEngineOptions } from "../../../src/observability/alerts/index.ts";
import { MetricsRegistry, type Gauge } from "../../../src/observability/metrics/index.ts";
import { VirtualClock } from "../../../src/time/clock.ts";
import { START, startReceiver, tempDir, type Receiver } from "./helpers.ts";

describe("alerts storage: history retention, persistence, config", () => {
  let dir: ReturnType<typeof tempDir>;
  let receiver: Receiver;
  let clock: VirtualClock;
  let registry: MetricsRegistry;
  let depth: Gauge;
  const engines: AlertEngine[] = [];

  beforeEach(async () => {
    dir = tempDir();
    receiver = await startReceiver();
    clock = new VirtualClock({ start: START });
    registry = new MetricsRegistry();
    depth = registry.gauge({ name: "app_depth", help: "Depth." });
  });

  afterEach(async () => {
    for (const engine of engines.splice(0)) engine.close();
    clock.dispose();
    await receiver.close();
    dir.remove();
  });

  const open = (options: Partial<AlertEngineOptions> = {}): AlertEngine => {
    const engine = new AlertEngine({ path: join(dir.path, "nested", "alerts.sqlite"), metrics: registry, clock, ...options });
    engines.push(engine);
    return engine;
  };
  const flap = async (alerts: AlertEngine, times: number): Promise<void> => {
    for (let i = 0; i < times; i++) {
      depth.set(undefined, i % 2 === 0 ? 20 : 0);
      await clock.advance("15s");
      alerts.evaluate();
    }
  };

  it("keeps at most history.maxRows rows and none older than history.maxAgeDays, paging newest first", async () => {
    const alerts = open({ history: { maxRows: 5, maxAgeDays: 1 } });
    alerts.addRule({ kind: "metric", id: "deep", name: "Deep", metric: "app_depth", threshold: 10, severity: "info" });
    alerts.addRule({ kind: "metric", id: "other", name: "Other", metric: "app_depth", threshold: 100, severity: "info" });
    await flap(alerts, 12); // 12 transitions: firing, resolved, …
    const all = alerts.history({ limit: 500 }).items;
    expect(all).toHaveLength(5);
    expect(all.map((i) => i.state)).toEqual(["resolved", "firing", "resolved", "firing", "resolved"]);
    expect(all[0]!.at).toBe(START + 12 * 15_000);

    const first = alerts.history({ limit: 2 });
    expect(first.items.map((i) => i.id)).toEqual(all.slice(0, 2).map((i) => i.id));
    const second = alerts.history({ limit: 2, cursor: first.next });
    expect(second.items.map((i) => i.id)).toEqual(all.slice(2, 4).map((i) => i.id));
    const last = alerts.history({ limit: 2, cursor: second.next });
    expect(last).toEqual({ items: [all[4]], next: null });
    expect(alerts.history({ rule: "other" }).items).toEqual([]);

    await clock.advance("1 day 1 s"); // the newest row is now older than a day
    alerts.evaluate();
    expect(alerts.history().items).toEqual([]);
  });

  it("goes on evaluating on its interval when trimming the history fails, and logs the failure", async () => {
    open().close(); // makes the file and its tables
    const db = new DatabaseSync(join(dir.path, "nested", "alerts.sqlite"));
    db.exec("CREATE TRIGGER full_disk BEFORE DELETE ON alert_history BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;");
    db.close();
    const logged: unknown[][] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void logged.push(args));
    try {
      const alerts = open({ history: { maxRows: 1 } });
      alerts.addRule({ kind: "metric", id: "deep", name: "Deep", metric: "app_depth", threshold: 10, severity: "info" });
      alerts.start();
      depth.set(undefined, 20);
      await clock.advance("15s"); // firing: one history row
      depth.set(undefined, 0);
      await clock.advance("15s"); // resolved: a second row, and trimming it fails
      expect(logged.map((args) => String(args[0]))).toEqual(["[hearth] alerts: trimming the history or silences failed:"]);
      expect(String(logged[0]![1])).toContain("database or disk is full");
      depth.set(undefined, 20);
      await clock.advance("15s");
      expect(alerts.status()[0]).toMatchObject({ state: "firing", since: START + 45_000 });
      expect(alerts.history({ limit: 500 }).items.map((i) => i.state).reverse()).toEqual(["firing", "resolved", "firing"]);
    } finally {
      spy.mockRestore();
    }
  });

  it("keeps rules, contact points, silences and alert states across a restart, without notifying a firing alert again", async () => {
    const alerts = open();
    alerts.addContactPoint({ name: "hook", kind: "webhook", url: receiver.url });
    alerts.addRule({ kind: "metric", id: "deep", name: "Deep", metric: "app_depth", threshold: 10, severity: "critical", for: "30s" });
    const silence = alerts.addSilence({ matchers: { severity: "info" }, until: START + 3_600_000, comment: "quiet" });
    depth.set(undefined, 20);
    await clock.advance("15s");
    alerts.evaluate(); // pending
    await clock.advance("30s");
    alerts.evaluate(); // firing
    await alerts.idle();
    expect(receiver.received).toHaveLength(1);
    alerts.close();

    const again = open({ durability: "strict" });
    expect(again.listRules().map((r) => r.id)).toEqual(["deep"]);
    expect(again.listContactPoints().map((c) => c.name)).toEqual(["hook"]);
    expect(again.listSilences()).toEqual([silence]);
    expect(again.status()[0]).toMatchObject({ state: "firing", since: START + 45_000, value: 20 });
    await clock.advance("15s");
    again.evaluate();
    await again.idle();
    expect(receiver.received).toHaveLength(1);
    depth.set(undefined, 0);
    await clock.advance("15s");
    again.evaluate();
    await again.idle();
    expect(receiver.received.map((r) => r.body.status)).toEqual(["firing", "resolved"]);
  });

  it("a firing rate alert stays firing after a restart while its window has one reading, without resolving or notifying again", async () => {
    const errorsTotal = registry.counter({ name: "app_errors_total", help: "Errors." });
    const alerts = open();
    alerts.addContactPoint({ name: "hook", kind: "webhook", url: receiver.url });
    alerts.addRule({ kind: "metric", id: "rate", name: "Error rate", metric: "app_errors_total", measure: "rate", window: "1m", threshold: 0.5, severity: "critical" });
    const tick = async (engine: AlertEngine): Promise<void> => {
      errorsTotal.inc(undefined, 100);
      await clock.advance("15s");
      engine.evaluate();
      await engine.idle();
    };
    errorsTotal.inc(undefined, 0);
    alerts.evaluate(); // the first reading
    await tick(alerts);
    expect(alerts.status()[0]).toMatchObject({ state: "firing", health: "ok" });
    alerts.close();

    const again = open();
    await tick(again); // the restarted engine's first reading: no rate yet
    expect(again.status()[0]).toMatchObject({ state: "firing", since: START + 15_000, health: "no data", healthDetail: "waiting for a second sample in the window" });
    await tick(again);
    expect(again.status()[0]).toMatchObject({ state: "firing", since: START + 15_000, health: "ok", value: 100 / 15 });
    expect(receiver.received.map((r) => r.body.status)).toEqual(["firing"]);
    expect(again.history({ limit: 500 }).items.map((i) => i.state).reverse()).toEqual(["firing", "delivered"]);
  });

  it("loads rules and contact points from a config, replacing the config's earlier ones and keeping the API's", () => {
    const alerts = open({
      config: {
        contactPoints: [{ name: "ops", kind: "slack", url: "https://hooks.example.com/x" }],
        rules: [
          { kind: "metric", id: "a", name: "A", metric: "app_depth", threshold: 1, severity: "info", contactPoints: ["ops"] },
          { kind: "error", id: "b", name: "B", window: "5m", threshold: 3, severity: "warning" },
        ],
      },
    });
    alerts.addRule({ kind: "metric", id: "mine", name: "Mine", metric: "app_depth", threshold: 1, severity: "info" });
    expect(alerts.listRules().map((r) => r.id)).toEqual(["a", "b", "mine"]);

    alerts.loadConfig({ rules: [{ kind: "metric", id: "a", name: "A", metric: "app_depth", threshold: 2, severity: "info" }] });
    expect(alerts.listRules().map((r) => [r.id, r.threshold])).toEqual([["a", 2], ["mine", 1]]);
    expect(alerts.listContactPoints()).toEqual([]);

    expect(() => alerts.loadConfig({ rules: [{ kind: "metric", id: "c", name: "C", metric: "app_depth", threshold: 2, severity: "info", contactPoints: ["nowhere"] }] })).toThrow(
      'rule.contactPoints of rule "c" names unknown contact point "nowhere"',
    );
    expect(() => alerts.loadConfig({ rules: [{ kind: "metric", id: "mine", name: "Mine", metric: "app_depth", threshold: 2, severity: "info" }] })).toThrow(
      'rule.id "mine" of the config is already used by a rule added through the API',
    );
    expect(() => alerts.loadConfig({ rules: [{ kind: "metric", name: "", metric: "app_depth", threshold: 2, severity: "info" }] })).toThrow("rule.name must not be empty");
    expect(alerts.listRules().map((r) => [r.id, r.threshold])).toEqual([["a", 2], ["mine", 1]]);

    alerts.close();
    const again = open();
    expect(again.listRules().map((r) => r.id)).toEqual(["a", "mine"]);
  });

  it("a config reload keeps a contact point the config no longer lists while a rule added through the API names it", async () => {
    const alerts = open({ config: { contactPoints: [{ name: "ops", kind: "webhook", url: receiver.url }, { name: "spare", kind: "webhook", url: receiver.url }] } });
    alerts.addRule({ kind: "metric", id: "mine", name: "Mine", metric: "app_depth", threshold: 10, severity: "info", contactPoints: ["ops"] });
    alerts.loadConfig({});
    expect(alerts.listContactPoints().map((c) => c.name)).toEqual(["ops"]);
    depth.set(undefined, 20);
    alerts.evaluate();
    await alerts.idle();
    expect(receiver.received.map((r) => r.body.receiver)).toEqual(["ops"]);

    // Kept as an API contact point: further loads leave it, and it can be deleted once no rule names it.
    alerts.close();
    const again = open();
    again.loadConfig({});
    expect(again.listContactPoints().map((c) => c.name)).toEqual(["ops"]);
    expect(() => again.deleteContactPoint("ops")).toThrow('contactPoint.name "ops" is used by rule(s) mine; change or delete them first');
    again.deleteRule("mine");
    expect(again.deleteContactPoint("ops")).toBe(true);
    expect(again.listContactPoints()).toEqual([]);
  });

  it("deleting a rule forgets its alerts; a second engine on the same file is refused", async () => {
    const alerts = open();
    alerts.addRule({ kind: "metric", id: "deep", name: "Deep", metric: "app_depth", threshold: 10, severity: "info" });
    depth.set(undefined, 20);
    alerts.evaluate();
    expect(alerts.status()[0]!.state).toBe("firing");
    alerts.deleteRule("deep");
    alerts.addRule({ kind: "metric", id: "deep", name: "Deep", metric: "app_depth", threshold: 100, severity: "info" });
    expect(alerts.status()[0]!.state).toBe("inactive");
    expect(() => open()).toThrow(/is locked by another process/);
  });
});
