import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AlertEngine, AlertValidationError, validateContactPoint, validateRule, type AlertRuleInput } from "../../../src/observability/alerts/index.ts";
import { MetricsRegistry } from "../../../src/observability/metrics/index.ts";
import { VirtualClock } from "../../../src/time/clock.ts";
import { thrown } from "../../support/thrown.ts";
import { START, tempDir } from "./helpers.ts";

const base = { kind: "metric", name: "Deep", metric: "app_depth", threshold: 10, severity: "warning" } as const;
const bad = (patch: Record<string, unknown>): unknown => ({ ...base, ...patch });

describe("rule validation", () => {
  it("fills in the defaults of a valid rule", () => {
    expect(validateRule({ ...base, for: "5m", window: "1 minute" })).toEqual({
      ...base, id: "deep", op: ">", forMs: 300_000, keepFiringForMs: 0, repeatIntervalMs: 14_400_000, summary: null, description: null, runbookUrl: null,
      labels: {}, contactPoints: [], sendResolved: true, enabled: true, matchers: {}, measure: "value", windowMs: 60_000, quantile: null, by: null,
    });
    expect(validateRule({ ...base, name: "  CPU / Memory!! " }).id).toBe("cpu-memory");
    expect(validateRule({ ...base, name: ".." }).id).toBe("rule"); // a URL path cannot name "." or ".."
  });

  it.each([
    [null, "rule must be an object"],
    [bad({ kind: "log" }), 'rule.kind must be "metric" or "error", got "log"'],
    [bad({ treshold: 1 }), "rule.treshold is not a field of a metric rule"],
    [bad({ name: "" }), "rule.name must not be empty"],
    [bad({ name: "x".repeat(201) }), "rule.name must be at most 200 characters, got 201"],
    [bad({ id: "has space" }), 'rule.id must be 1 to 64 letters, digits, "_", "-" or "." (not "." or ".." alone), got "has space"'],
    [bad({ id: ".." }), 'rule.id must be 1 to 64 letters, digits, "_", "-" or "." (not "." or ".." alone), got ".."'],
    [bad({ severity: "page" }), 'rule.severity must be one of critical, warning, info, got "page"'],
    [bad({ op: "=>" }), 'rule.op must be one of > >= < <= == !=, got "=>"'],
    [bad({ threshold: "10" }), 'rule.threshold must be a finite number, got "10"'],
    [bad({ threshold: Infinity }), "rule.threshold must be a finite number, got Infinity"],
    [bad({ for: "soon" }), 'rule.for "soon" is not a duration; expected "<number> <unit>" parts such as "10 seconds" or "1 day 2 hours", with units ms, s, m, h, d, w, month, y (or their long forms: milliseconds, seconds, minutes, hours, days, weeks, months, years)'],
    [bad({ for: "-5 s" }), 'rule.for must not be negative, got "-5 s"'],
    [bad({ for: "2 days" }), 'rule.for must be between 0 ms and 86400000 ms, got "2 days"'],
    [bad({ keepFiringFor: "25h" }), 'rule.keepFiringFor must be between 0 ms and 86400000 ms, got "25h"'],
    [bad({ repeatInterval: "10s" }), 'rule.repeatInterval must be between 60000 ms and 604800000 ms, got "10s"'],
    [bad({ summary: "{{ $value }}" }), "rule.summary uses unknown placeholder {{ $value }}; known: {{value}}, {{threshold}}, {{name}}, {{severity}}, {{labels.<name>}}, {{fingerprint}}, {{message}}"],
    [bad({ description: "{{labels}}" }), "rule.description uses unknown placeholder {{labels}}; known: {{value}}, {{threshold}}, {{name}}, {{severity}}, {{labels.<name>}}, {{fingerprint}}, {{message}}"],
    [bad({ summary: 3 }), "rule.summary must be a string, got number"],
    [bad({ labels: { "bad-name": "x" } }), "rule.labels.bad-name is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)"],
    [bad({ labels: { team: 1 } }), "rule.labels.team must be a string, got number"],
    [bad({ labels: [] }), "rule.labels must be an object of label name to string value"],
    [bad({ contactPoints: "ops" }), "rule.contactPoints must be an array of contact point names"],
    [bad({ enabled: "yes" }), 'rule.enabled must be true or false, got "yes"'],
    [bad({ metric: "app-depth" }), 'rule.metric must be a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), got "app-depth"'],
    [bad({ measure: "avg" }), 'rule.measure must be one of value, rate, increase, quantile, got "avg"'],
    [bad({ measure: "rate" }), 'rule.window is required for measure "rate"'],
    [bad({ measure: "rate", window: 0 }), "rule.window must be between 1 ms and 86400000 ms, got 0"],
    [bad({ measure: "quantile", quantile: 95 }), 'rule.quantile must be a number from 0 to 1 for measure "quantile", got 95'],
    [bad({ quantile: 0.5 }), 'rule.quantile is only for measure "quantile"'],
    [bad({ by: ["ok", "not ok"] }), "rule.by must be an array of label names"],
    [bad({ matchers: { status: 500 } }), 'rule.matchers.status must be a string or { op: "=" | "!=" | "=~" | "!~", value: string }'],
    [bad({ matchers: { status: { op: "=~", value: "5((" } } }), "rule.matchers.status is not a valid regular expression: Invalid regular expression: /^(?:5(()$/: Unterminated group"],
    [bad({ matchers: { "1x": "a" } }), "rule.matchers.1x is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)"],
    [{ kind: "error", name: "E", threshold: 1, severity: "info" }, "rule.window is required for an error rule"],
    [{ kind: "error", name: "E", threshold: 1, severity: "info", window: "1m", match: { message: "x" } }, "rule.match.message is not a field of an error match (fingerprint, name, class)"],
    [{ kind: "error", name: "E", threshold: 1, severity: "info", window: "1m", match: { class: "" } }, "rule.match.class must be a non-empty string"],
    [{ kind: "error", name: "E", threshold: 1, severity: "info", window: "1m", match: "x" }, "rule.match must be an object { fingerprint?, name?, class? }"],
    [{ kind: "error", name: "E", threshold: 1, severity: "info", window: "1m", metric: "x" }, "rule.metric is not a field of an error rule"],
  ])("refuses %j with a message naming the field", (input, message) => {
    const error = thrown(() => validateRule(input));
    expect(error).toBeInstanceOf(AlertValidationError);
    expect(error.message).toBe(message);
    expect((error as AlertValidationError).field).toBe(message.split(" ")[0]);
  });
});

describe("contact point validation", () => {
  it.each([
    [{ name: "ops", kind: "email", url: "https://x" }, 'contactPoint.kind must be "slack" or "webhook", got "email"'],
    [{ name: "ops", kind: "slack", url: "not a url" }, 'contactPoint.url is not a URL: "not a url"'],
    [{ name: "ops", kind: "slack", url: "ftp://x/y" }, "contactPoint.url must be http: or https:, got ftp:"],
    [{ name: "o p s", kind: "slack", url: "https://x" }, 'contactPoint.name must be 1 to 64 letters, digits, "_", "-" or "." (not "." or ".." alone), got "o p s"'],
    [{ name: ".", kind: "slack", url: "https://x" }, 'contactPoint.name must be 1 to 64 letters, digits, "_", "-" or "." (not "." or ".." alone), got "."'],
    [{ name: "ops", kind: "slack", url: "https://x", headers: { "x y": "1" } }, "contactPoint.headers.x y is not a valid header name"],
    [{ name: "ops", kind: "slack", url: "https://x", headers: { a: "1\r\nb: 2" } }, "contactPoint.headers.a must be a string without line breaks"],
    [{ name: "ops", kind: "slack", url: "https://x", channel: "#ops" }, "contactPoint.channel is not a field of a contact point (name, kind, url, headers)"],
  ])("refuses %j", (input, message) => {
    expect(() => validateContactPoint(input)).toThrow(message);
  });
});

describe("the engine's checks", () => {
  let dir: ReturnType<typeof tempDir>;
  let clock: VirtualClock;
  let alerts: AlertEngine;

  beforeEach(() => {
    dir = tempDir();
    clock = new VirtualClock({ start: START });
    alerts = new AlertEngine({ path: join(dir.path, "alerts.sqlite"), clock });
  });

  afterEach(() => {
    alerts.close();
    clock.dispose();
    dir.remove();
  });

  it("refuses unknown contact points, duplicate ids and deleting a contact point in use, losing nothing stored", () => {
    expect(() => alerts.addRule({ ...base, contactPoints: ["ops"] })).toThrow('rule.contactPoints names unknown contact point "ops"');
    alerts.addContactPoint({ name: "ops", kind: "webhook", url: "http://127.0.0.1:9/hook?token=secret", headers: { authorization: "Bearer x" } });
    expect(() => alerts.addContactPoint({ name: "ops", kind: "slack", url: "https://x" })).toThrow('contactPoint.name "ops" is already used; delete it first or pass { replace: true }');
    alerts.addRule({ ...base, contactPoints: ["ops"] });
    expect(() => alerts.addRule(base)).toThrow('rule.id "deep" is already used; delete that rule first or pass { replace: true }');
    expect(() => alerts.deleteContactPoint("ops")).toThrow('contactPoint.name "ops" is used by rule(s) deep; change or delete them first');
    expect(alerts.listRules().map((r) => r.id)).toEqual(["deep"]);
    expect(alerts.listContactPoints()).toEqual([{ name: "ops", kind: "webhook", url: "http://127.0.0.1:9/…", headers: ["authorization"] }]);

    alerts.addRule({ ...base, threshold: 20 }, { replace: true });
    expect(alerts.getRule("deep")!.threshold).toBe(20);
    expect(alerts.deleteRule("deep")).toBe(true);
    expect(alerts.deleteRule("deep")).toBe(false);
    expect(alerts.deleteContactPoint("ops")).toBe(true);
  });

  it("refuses a 501st rule", () => {
    for (let i = 0; i < 500; i++) alerts.addRule({ ...base, id: `r${i}` } as AlertRuleInput);
    expect(() => alerts.addRule({ ...base, id: "r500" })).toThrow("rule cannot be added: at most 500 rules");
    expect(alerts.listRules()).toHaveLength(500);
  });

  it("refuses a 51st contact point and a 1001st active silence", () => {
    for (let i = 0; i < 50; i++) alerts.addContactPoint({ name: `c${i}`, kind: "webhook", url: "http://127.0.0.1:9/" });
    expect(() => alerts.addContactPoint({ name: "c50", kind: "webhook", url: "http://127.0.0.1:9/" })).toThrow("contactPoint cannot be added: at most 50 contact points");
    for (let i = 0; i < 1000; i++) alerts.addSilence({ matchers: { rule: `r${i}` }, until: START + 1000 });
    expect(() => alerts.addSilence({ matchers: { rule: "more" }, until: START + 1000 })).toThrow("silence cannot be added: at most 1000 active silences");
    expect(alerts.listSilences()).toHaveLength(1000);
  });

  it("tracks at most 1000 alerts per rule and says so in its health", () => {
    const registry = new MetricsRegistry();
    const depth = registry.gauge({ name: "app_depth", help: "Depth.", labelNames: ["k"] });
    for (let i = 0; i < 1003; i++) depth.set({ k: String(i) }, 1);
    const many = new AlertEngine({ path: join(dir.path, "many.sqlite"), metrics: registry, clock });
    many.addRule({ ...base, threshold: 100 });
    many.evaluate();
    expect(many.status()[0]).toMatchObject({ health: "ok", healthDetail: "more than 1000 label sets; 3 series ignored" });
    many.close();
  });

  it("refuses bad history pages and options", () => {
    expect(() => alerts.history({ limit: 501 })).toThrow("limit must be an integer from 1 to 500, got 501");
    expect(() => alerts.history({ cursor: "abc" })).toThrow('cursor is not a cursor from this history: "abc"');
    expect(() => new AlertEngine({ path: join(dir.path, "b.sqlite"), interval: "500ms" })).toThrow("alerts interval must be at least 1000 ms, got 500");
    expect(() => new AlertEngine({ path: join(dir.path, "b.sqlite"), history: { maxRows: 0 } })).toThrow("history.maxRows must be a positive integer, got 0");
  });
});
