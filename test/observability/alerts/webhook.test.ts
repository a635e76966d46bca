import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AlertEngine, SLACK_COLOURS } from "../../../src/observability/alerts/index.ts";
import { MetricsRegistry } from "../../../src/observability/metrics/index.ts";
import { VirtualClock } from "../../../src/time/clock.ts";
import { START, startReceiver, tempDir, waitFor, type Receiver } from "./helpers.ts";

describe("alerts delivered to a real webhook receiver on loopback", () => {
  let dir: ReturnType<typeof tempDir>;
  let receiver: Receiver;
  let clock: VirtualClock;
  let alerts: AlertEngine;
  let registry: MetricsRegistry;

  beforeEach(async () => {
    dir = tempDir();
    receiver = await startReceiver();
    clock = new VirtualClock({ start: START });
    registry = new MetricsRegistry();
    alerts = new AlertEngine({ path: join(dir.path, "alerts.sqlite"), metrics: registry, clock, externalUrl: "http://127.0.0.1:8788/" });
  });

  afterEach(async () => {
    alerts.close();
    clock.dispose();
    await receiver.close();
    dir.remove();
  });

  it("fires after `for`, notifies Slack and webhook contact points, then resolves", async () => {
    const depth = registry.gauge({ name: "app_queue_depth", help: "Jobs waiting.", labelNames: ["queue"] });
    alerts.addContactPoint({ name: "hook", kind: "webhook", url: `${receiver.url}/hook`, headers: { authorization: "Bearer s3cret" } });
    alerts.addContactPoint({ name: "slack", kind: "slack", url: `${receiver.url}/slack` });
    alerts.addRule({
      kind: "metric", id: "queue-deep", name: "Queue deep", metric: "app_queue_depth", threshold: 10, for: "30s", severity: "critical",
      summary: "Queue {{labels.queue}} is {{value}} deep", description: "Over {{threshold}}", runbookUrl: "https://example.com/runbook", labels: { team: "core" },
    });
    alerts.start();
    depth.set({ queue: "mail" }, 50);

    await clock.advance("15s"); // pending
    expect(alerts.overview().rules[0]).toMatchObject({ id: "queue-deep", state: "pending", since: START + 15_000, value: 50, expr: "app_queue_depth > 10", for: 30_000 });
    await clock.advance("15s"); // still pending: 15 s of 30
    expect(alerts.status()[0]!.state).toBe("pending");
    expect(receiver.received).toHaveLength(0);

    await clock.advance("15s"); // firing
    await waitFor(() => receiver.received.length === 2, "two firing notifications");
    expect(alerts.status()[0]).toMatchObject({ state: "firing", since: START + 45_000, health: "ok" });
    const hook = receiver.received.find((r) => r.path === "/hook")!;
    expect(hook.headers.authorization).toBe("Bearer s3cret");
    expect(hook.headers["content-type"]).toBe("application/json");
    const labels = { alertname: "Queue deep", severity: "critical", team: "core", queue: "mail" };
    const annotations = { summary: "Queue mail is 50 deep", description: "Over 10", runbook_url: "https://example.com/runbook" };
    expect(hook.body).toMatchObject({
      version: "4", status: "firing", receiver: "hook", groupLabels: { alertname: "Queue deep" }, commonLabels: labels, commonAnnotations: annotations,
      externalURL: "http://127.0.0.1:8788/",
    });
    const [alert] = hook.body.alerts as Array<Record<string, unknown>>;
    expect(alert).toMatchObject({ status: "firing", labels, annotations, startsAt: "2026-01-01T00:00:45.000Z", endsAt: "0001-01-01T00:00:00Z", values: { value: 50 } });
    expect(alert!.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(alert!.generatorURL).toBe("http://127.0.0.1:8788/#/alerts/queue-deep");

    const slack = receiver.received.find((r) => r.path === "/slack")!.body;
    expect(slack.text).toBe("[FIRING:critical] Queue deep: Queue mail is 50 deep");
    expect(slack.blocks).toEqual(expect.arrayContaining([{ type: "section", text: { type: "mrkdwn", text: "*[FIRING:critical] Queue deep*\nQueue mail is 50 deep" } }]));
    const [attachment] = slack.attachments as Array<Record<string, unknown>>;
    expect(attachment!.color).toBe(SLACK_COLOURS.critical);
    expect(attachment!.text).toContain("Labels: alertname=Queue deep, severity=critical, team=core, queue=mail");

    depth.set({ queue: "mail" }, 2);
    await clock.advance("15s"); // resolved
    await waitFor(() => receiver.received.length === 4, "two resolved notifications");
    const resolved = receiver.received.slice(2).find((r) => r.path === "/hook")!.body;
    expect(resolved).toMatchObject({ status: "resolved" });
    expect((resolved.alerts as Array<Record<string, unknown>>)[0]).toMatchObject({
      status: "resolved", startsAt: "2026-01-01T00:00:45.000Z", endsAt: "2026-01-01T00:01:00.000Z", fingerprint: alert!.fingerprint,
    });
    const slackResolved = receiver.received.slice(2).find((r) => r.path === "/slack")!.body;
    expect(slackResolved.text).toBe("[RESOLVED] Queue deep: Queue mail is 2 deep");
    expect((slackResolved.attachments as Array<Record<string, unknown>>)[0]!.color).toBe(SLACK_COLOURS.resolved);
    expect(alerts.status()[0]).toMatchObject({ state: "inactive", since: null, instances: [] });

    await alerts.idle();
    const events = alerts.history({ limit: 500 }).items.map((i) => i.state).reverse();
    expect(events).toEqual(["pending", "firing", "delivered", "delivered", "resolved", "delivered", "delivered"]);
    const firing = alerts.history().items.find((i) => i.state === "firing")!;
    expect(firing).toMatchObject({ rule: "queue-deep", ruleName: "Queue deep", at: START + 45_000, value: 50, labels: { queue: "mail" }, detail: null });
  });

  it("test() sends a test notification to the rule's contact points and answers { delivered, status }", async () => {
    alerts.addContactPoint({ name: "slack", kind: "slack", url: `${receiver.url}/slack` });
    alerts.addRule({ kind: "metric", id: "r", name: "Not registered yet", metric: "app_missing", threshold: 1, severity: "warning", contactPoints: ["slack"] });
    const result = await alerts.test("r");
    expect(result).toEqual({ delivered: true, status: 200, results: [{ contactPoint: "slack", delivered: true, status: 200, error: null }] });
    expect(receiver.received[0]!.body.text).toMatch(/^\[TEST\] Not registered yet/);
    expect(alerts.history().items[0]).toMatchObject({ state: "test", rule: "r", detail: "slack: HTTP 200" });

    receiver.answer(500);
    expect(await alerts.test("r")).toMatchObject({ delivered: false, status: 500, results: [{ contactPoint: "slack", delivered: false, status: 500, error: "HTTP 500: nope" }] });
    await expect(alerts.test("nope")).rejects.toThrow('rule "nope" does not exist');
  });

  it("test() of a rule without any contact point is refused with a message", async () => {
    alerts.addRule({ kind: "metric", id: "r", name: "R", metric: "app_missing", threshold: 1, severity: "info" });
    await expect(alerts.test("r")).rejects.toThrow("rule.contactPoints cannot be tested: there is no contact point");
  });
});
