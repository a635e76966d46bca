import { randomUUID } from "node:crypto";
import type { Durability } from "../../limits.ts";
import { systemClock, type Clock } from "../../time/clock.ts";
import { parseDuration, type Duration } from "../../time/duration.ts";
import type { MetricSnapshot } from "../metrics/registry.ts";
import { Deliverer, type DeliveryReport } from "./delivery.ts";
import { describeRule, silenceCovers } from "./describe.ts";
import type { ErrorSource } from "./error-source.ts";
import { alertLabels, buildNotification, evaluateRule } from "./evaluate.ts";
import { ALERT_LIMITS } from "./limits.ts";
import { ruleMisfit, type RuleReading } from "./metric-eval.ts";
import type { Notification } from "./payloads.ts";
import type { InstanceState } from "./state-machine.ts";
import { AlertStore, type Source } from "./store.ts";
import type {
  AlertRule, AlertRuleInput, AlertState, ContactPoint, ContactPointInput, HistoryEvent, HistoryPage, RuleStatus, Silence, SilenceInput, TestResult,
} from "./types.ts";
import { AlertValidationError, fail, validateRule } from "./validate-rule.ts";
import { validateContactPoint, validateSilence } from "./validate-targets.ts";
import { WindowReadings } from "./window-readings.ts";

/** Rules and contact points written in the config (`hearth.config`), loaded with {@link AlertEngine.loadConfig}. */
export interface AlertsConfig {
  readonly rules?: readonly AlertRuleInput[];
  readonly contactPoints?: readonly ContactPointInput[];
}

export interface AlertEngineOptions {
  /** The SQLite file for rules, contact points, silences, states and history (its directory is created). */
  readonly path: string;
  /** Where metric rules read from: a `MetricsRegistry` (anything with its `snapshot()`). */
  readonly metrics?: { snapshot(): MetricSnapshot[] };
  /** Where error rules read from: the problems store (`ProblemStore`, `hearth/observability/store`). */
  readonly errors?: ErrorSource;
  /** Default the system clock; a `VirtualClock` in tests. */
  readonly clock?: Clock;
  /** Evaluation interval. Default 15 s, at least 1 s. */
  readonly interval?: Duration;
  /** "strict" syncs every write (`synchronous = FULL`). Default "relaxed". */
  readonly durability?: Durability;
  /** History retention. Defaults: 10,000 rows, 30 days. */
  readonly history?: { readonly maxRows?: number; readonly maxAgeDays?: number };
  /** Webhook delivery. Defaults: 3 retries, 1 s first backoff (doubling, at most 60 s), 10 s timeout, 1000 in flight. */
  readonly delivery?: { readonly retries?: number; readonly backoffMs?: number; readonly timeoutMs?: number; readonly queueSize?: number };
  /** The inspector's URL, for links in notifications. */
  readonly externalUrl?: string;
  /** Loaded at construction (see {@link AlertEngine.loadConfig}). */
  readonly config?: AlertsConfig;
}

const STATE_RANK: Record<AlertState, number> = { inactive: 0, pending: 1, firing: 2 };

function positiveInteger(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${what} must be a positive integer, got ${value}`);
  return value;
}

/**
 * In-process alerting: rules on metrics and on error fingerprints, evaluated on an interval, with a
 * state per alert (inactive → pending → firing → resolved), notifications to Slack or webhook contact
 * points, silences, a history and a `test` action, all kept in one SQLite file.
 * @example
 * const alerts = new AlertEngine({ path: join(dataDir, "alerts.sqlite"), metrics: registry, errors: problems }); // a ProblemStore
 * alerts.addContactPoint({ name: "ops", kind: "slack", url: process.env.SLACK_WEBHOOK! });
 * alerts.addRule({ kind: "metric", name: "Queue deep", metric: "hearth_queue_backlog_messages", threshold: 100, for: "5m", severity: "warning" });
 * alerts.start();
 */
export class AlertEngine {
  readonly #store: AlertStore;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #metrics: AlertEngineOptions["metrics"];
  readonly #errors: ErrorSource | undefined;
  readonly #historyRows: number;
  readonly #historyAgeMs: number;
  readonly #deliverer: Deliverer;
  readonly #windows = new WindowReadings();
  #rules = new Map<string, { rule: AlertRule; source: Source }>();
  #contactPoints = new Map<string, { contactPoint: ContactPoint; source: Source }>();
  #silences: Silence[];
  readonly #instances = new Map<string, Map<string, InstanceState>>();
  readonly #health = new Map<string, Pick<RuleReading, "health" | "detail">>();
  #cancelTimer: (() => void) | undefined;
  #closed = false;

  constructor(options: AlertEngineOptions) {
    this.#clock = options.clock ?? systemClock;
    this.#intervalMs = parseDuration(options.interval ?? ALERT_LIMITS.defaultIntervalMs, "alerts interval");
    if (this.#intervalMs < ALERT_LIMITS.minIntervalMs) throw new RangeError(`alerts interval must be at least ${ALERT_LIMITS.minIntervalMs} ms, got ${this.#intervalMs}`);
    this.#historyRows = positiveInteger(options.history?.maxRows ?? ALERT_LIMITS.defaultHistoryMaxRows, "history.maxRows");
    this.#historyAgeMs = positiveInteger(options.history?.maxAgeDays ?? ALERT_LIMITS.defaultHistoryMaxAgeDays, "history.maxAgeDays") * 86_400_000;
    this.#metrics = options.metrics;
    this.#errors = options.errors;
    this.#deliverer = new Deliverer({ clock: this.#clock, onReport: (report) => this.#onDelivery(report), externalUrl: options.externalUrl ?? "", ...options.delivery });
    this.#store = new AlertStore(options.path, options.durability ?? "relaxed");
    for (const entry of this.#store.listRules()) this.#rules.set(entry.rule.id, entry);
    for (const entry of this.#store.listContactPoints()) this.#contactPoints.set(entry.contactPoint.name, entry);
    this.#silences = this.#store.listSilences();
    for (const instance of this.#store.listInstances()) this.#instancesOf(instance.ruleId).set(instance.key, instance);
    if (options.config) this.loadConfig(options.config);
  }

  /** Evaluates every `interval` from now on (the first evaluation one interval from now). */
  start(): void {
    if (this.#closed) throw new Error("AlertEngine is closed");
    if (this.#cancelTimer) return;
    const arm = (at: number): void => {
      this.#cancelTimer = this.#clock.setTimer(at, () => {
        // Re-armed whatever happens: one failed evaluation must not end alerting for good.
        try {
          this.evaluate();
        } catch (error) {
          console.error("[hearth] alerts: an evaluation failed:", error);
        }
        if (this.#cancelTimer) arm(Math.max(at + this.#intervalMs, this.#clock.now() + 1));
      });
    };
    arm(this.#clock.now() + this.#intervalMs);
  }

  /** Stops evaluating; deliveries in flight go on. */
  stop(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }

  /** Stops, drops retries not yet made, and closes the database. */
  close(): void {
    this.stop();
    this.#closed = true;
    this.#deliverer.close();
    this.#store.close();
  }

  /** Resolves when no notification is in flight or waiting for a retry. */
  idle(): Promise<void> {
    return this.#deliverer.idle();
  }

  /**
   * Evaluates every enabled rule once, now. Errors of one rule show in its health; a failure to trim
   * the history is logged. Nothing is thrown.
   */
  evaluate(): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    let families: MetricSnapshot[] = [];
    let snapshotError: string | null = null;
    try {
      families = this.#metrics?.snapshot() ?? [];
    } catch (error) {
      snapshotError = `reading metrics failed: ${(error as Error).message}`;
    }
    const silences = this.#silences.filter((s) => s.until > now);
    for (const { rule } of this.#rules.values()) {
      if (!rule.enabled) continue;
      if (rule.kind === "metric" && (snapshotError || !this.#metrics)) {
        this.#health.set(rule.id, { health: snapshotError ? "error" : "no data", detail: snapshotError ?? "no metrics registry is configured" });
        continue;
      }
      try {
        const reading = evaluateRule(rule, families, this.#context(rule, silences), now);
        this.#health.set(rule.id, { health: reading.health, detail: reading.detail });
      } catch (error) {
        this.#health.set(rule.id, { health: "error", detail: (error as Error).message });
      }
    }
    try {
      this.#store.trimHistory(this.#historyRows, now - this.#historyAgeMs);
      this.#store.purgeSilences(now - this.#historyAgeMs);
    } catch (error) {
      // A full disk, say: the rules were evaluated; the trimming is tried again next time.
      console.error("[hearth] alerts: trimming the history or silences failed:", error);
    }
    this.#silences = this.#silences.filter((s) => s.until >= now - this.#historyAgeMs);
  }

  /**
   * Adds a rule (or replaces the one with its id when `replace`); throws {@link AlertValidationError}
   * naming the field. A metric not registered yet is accepted and reported as "no data".
   */
  addRule(input: AlertRuleInput, options: { replace?: boolean } = {}): AlertRule {
    const rule = this.#checkRule(input);
    const existing = this.#rules.get(rule.id);
    if (existing && !options.replace) fail("rule.id", `${JSON.stringify(rule.id)} is already used; delete that rule first or pass { replace: true }`);
    if (!existing && this.#rules.size >= ALERT_LIMITS.maxRules) fail("rule", `cannot be added: at most ${ALERT_LIMITS.maxRules} rules`);
    this.#store.putRule(rule, "api", this.#clock.now());
    if (existing) this.#forgetRuleState(rule.id);
    this.#rules.set(rule.id, { rule, source: "api" });
    return rule;
  }

  getRule(id: string): AlertRule | undefined {
    return this.#rules.get(id)?.rule;
  }

  listRules(): AlertRule[] {
    return [...this.#rules.values()].map((entry) => entry.rule);
  }

  /** Removes a rule and its alerts (no resolved notification is sent); true when it existed. */
  deleteRule(id: string): boolean {
    if (!this.#rules.delete(id)) return false;
    this.#store.deleteRule(id);
    this.#forgetRuleState(id);
    return true;
  }

  addContactPoint(input: ContactPointInput, options: { replace?: boolean } = {}): ContactPoint {
    const contactPoint = validateContactPoint(input);
    const existing = this.#contactPoints.has(contactPoint.name);
    if (existing && !options.replace) fail("contactPoint.name", `${JSON.stringify(contactPoint.name)} is already used; delete it first or pass { replace: true }`);
    if (!existing && this.#contactPoints.size >= ALERT_LIMITS.maxContactPoints) fail("contactPoint", `cannot be added: at most ${ALERT_LIMITS.maxContactPoints} contact points`);
    this.#store.putContactPoint(contactPoint, "api", this.#clock.now());
    this.#contactPoints.set(contactPoint.name, { contactPoint, source: "api" });
    return contactPoint;
  }

  /** Contact points with header values and the URL's path and query hidden (they often hold secrets). */
  listContactPoints(): Array<{ name: string; kind: ContactPoint["kind"]; url: string; headers: string[] }> {
    return [...this.#contactPoints.values()].map(({ contactPoint: c }) => ({ name: c.name, kind: c.kind, url: `${new URL(c.url).origin}/…`, headers: Object.keys(c.headers) }));
  }

  /** Refused while a rule names it. True when it existed. */
  deleteContactPoint(name: string): boolean {
    const users = this.listRules().filter((rule) => rule.contactPoints.includes(name));
    if (users.length > 0) fail("contactPoint.name", `${JSON.stringify(name)} is used by rule(s) ${users.map((r) => r.id).join(", ")}; change or delete them first`);
    this.#contactPoints.delete(name);
    return this.#store.deleteContactPoint(name);
  }

  /** Silences alerts matching every given matcher until `until`; they still change state and are recorded, but are not delivered. */
  addSilence(input: SilenceInput): Silence {
    const now = this.#clock.now();
    const valid = validateSilence(input, now);
    if (this.#silences.filter((s) => s.until > now).length >= ALERT_LIMITS.maxActiveSilences) fail("silence", `cannot be added: at most ${ALERT_LIMITS.maxActiveSilences} active silences`);
    const silence: Silence = { id: randomUUID(), ...valid, createdAt: now };
    this.#store.putSilence(silence);
    this.#silences.push(silence);
    return silence;
  }

  /** Active silences (and expired ones still kept, with `includeExpired`). */
  listSilences(options: { includeExpired?: boolean } = {}): Silence[] {
    const now = this.#clock.now();
    return this.#silences.filter((s) => options.includeExpired || s.until > now);
  }

  deleteSilence(id: string): boolean {
    this.#silences = this.#silences.filter((s) => s.id !== id);
    return this.#store.deleteSilence(id);
  }

  /** Every rule and how it stands, most urgent first. */
  status(): RuleStatus[] {
    const now = this.#clock.now();
    const out = this.listRules().map((rule): RuleStatus => {
      const instances = [...this.#instancesOf(rule.id).values()].map((i) => {
        const silence = this.#silences.find((s) => silenceCovers(s, rule, alertLabels(rule, i.labels), now));
        return { labels: i.labels, state: i.state, since: i.since, value: i.value, silencedBy: silence?.id ?? null };
      });
      const top = instances.reduce<(typeof instances)[number] | undefined>((best, i) => (!best || STATE_RANK[i.state] > STATE_RANK[best.state] ? i : best), undefined);
      const health = this.#health.get(rule.id) ?? { health: "no data" as const, detail: rule.enabled ? "not evaluated yet" : "disabled" };
      return {
        id: rule.id, name: rule.name, kind: rule.kind, expr: describeRule(rule), for: rule.forMs, severity: rule.severity,
        state: top?.state ?? "inactive", since: top?.since ?? null, value: top?.value ?? null, health: health.health, healthDetail: health.detail, instances, rule,
      };
    });
    return out.sort((a, b) => STATE_RANK[b.state] - STATE_RANK[a.state]);
  }

  /** What `GET /api/alerts` answers. */
  overview(): { rules: RuleStatus[]; silences: Silence[] } {
    return { rules: this.status(), silences: this.listSilences() };
  }

  /** History, newest first; `cursor` is the previous page's `next`. `limit` default 50, at most 500. */
  history(options: { cursor?: string | null; limit?: number; rule?: string } = {}): HistoryPage {
    const limit = options.limit ?? ALERT_LIMITS.defaultPageSize;
    if (!Number.isInteger(limit) || limit < 1 || limit > ALERT_LIMITS.maxPageSize) fail("limit", `must be an integer from 1 to ${ALERT_LIMITS.maxPageSize}, got ${limit}`);
    const cursor = options.cursor ? Number(options.cursor) : null;
    if (cursor !== null && !Number.isInteger(cursor)) fail("cursor", `is not a cursor from this history: ${JSON.stringify(options.cursor)}`);
    return this.#store.pageHistory(limit, cursor, options.rule ?? null);
  }

  /** Sends a test notification for `ruleId` to its contact points, once each, and records it. */
  async test(ruleId: string): Promise<TestResult> {
    const rule = this.#rules.get(ruleId)?.rule;
    if (!rule) throw new AlertValidationError("rule", `${JSON.stringify(ruleId)} does not exist`);
    const now = this.#clock.now();
    const notification = buildNotification(rule, { key: "test", labels: { test: "true" }, value: null, startsAt: now }, "firing", null, { message: "test notification" }, true);
    const targets = this.#targets(rule);
    if (targets.missing.length === 0 && targets.found.length === 0) fail("rule.contactPoints", "cannot be tested: there is no contact point");
    const results: Array<TestResult["results"][number]> = targets.missing.map((name) => ({ contactPoint: name, delivered: false, status: null, error: "no such contact point" }));
    for (const contactPoint of targets.found) {
      const { status, error } = await this.#deliverer.sendOnce(notification, contactPoint);
      results.push({ contactPoint: contactPoint.name, delivered: error === null, status, error });
    }
    const failed = results.find((r) => !r.delivered);
    const detail = results.map((r) => `${r.contactPoint}: ${r.error ?? `HTTP ${r.status}`}`).join("; ");
    if (!this.#closed) this.#store.appendHistory({ at: now, rule: rule.id, ruleName: rule.name, state: "test", labels: notification.labels, value: null, detail });
    return { delivered: failed === undefined, status: (failed ?? results.at(-1))?.status ?? null, results };
  }

  /**
   * Replaces the rules and contact points that came from the config with `config`'s; those added
   * through the API stay. A contact point the config no longer lists but a rule added through the API
   * still names is kept, as if added through the API (refusing the load would stop a start until that
   * rule is changed, which needs the running server). Everything is checked first: on an error nothing
   * changes.
   */
  loadConfig(config: AlertsConfig): void {
    const contactPoints = (config.contactPoints ?? []).map((c) => validateContactPoint(c));
    const rules = (config.rules ?? []).map((r) => validateRule(r));
    const apiRules = [...this.#rules.values()].filter((r) => r.source === "api").map((r) => r.rule);
    const adopted = [...this.#contactPoints.values()].filter(
      (c) => c.source === "config" && !contactPoints.some((n) => n.name === c.contactPoint.name) && apiRules.some((r) => r.contactPoints.includes(c.contactPoint.name)),
    );
    const apiNames = [...this.#contactPoints.values()].filter((c) => c.source === "api").map((c) => c.contactPoint.name);
    const names = new Set([...contactPoints.map((c) => c.name), ...apiNames, ...adopted.map((c) => c.contactPoint.name)]);
    for (const rule of rules) {
      const unknown = rule.contactPoints.find((name) => !names.has(name));
      if (unknown) fail("rule.contactPoints", `of rule ${JSON.stringify(rule.id)} names unknown contact point ${JSON.stringify(unknown)}`);
      if (this.#rules.get(rule.id)?.source === "api") fail("rule.id", `${JSON.stringify(rule.id)} of the config is already used by a rule added through the API`);
    }
    const now = this.#clock.now();
    for (const [id, entry] of this.#rules) if (entry.source === "config" && !rules.some((r) => r.id === id)) this.deleteRule(id);
    for (const { contactPoint } of adopted) {
      this.#store.putContactPoint(contactPoint, "api", now);
      this.#contactPoints.set(contactPoint.name, { contactPoint, source: "api" });
    }
    for (const [name, entry] of this.#contactPoints) {
      if (entry.source === "config" && !contactPoints.some((c) => c.name === name)) {
        this.#contactPoints.delete(name);
        this.#store.deleteContactPoint(name);
      }
    }
    for (const contactPoint of contactPoints) {
      this.#store.putContactPoint(contactPoint, "config", now);
      this.#contactPoints.set(contactPoint.name, { contactPoint, source: "config" });
    }
    for (const rule of rules) {
      const before = this.#rules.get(rule.id)?.rule;
      this.#store.putRule(rule, "config", now);
      if (before && JSON.stringify(before) !== JSON.stringify(rule)) this.#forgetRuleState(rule.id);
      this.#rules.set(rule.id, { rule, source: "config" });
    }
  }

  #checkRule(input: AlertRuleInput): AlertRule {
    const rule = validateRule(input);
    const unknown = rule.contactPoints.find((name) => !this.#contactPoints.has(name));
    if (unknown) fail("rule.contactPoints", `names unknown contact point ${JSON.stringify(unknown)}`);
    if (rule.kind === "metric" && this.#metrics) {
      const family = this.#metrics.snapshot().find((f) => f.name === rule.metric);
      const misfit = family && ruleMisfit(rule, family.type);
      if (misfit) fail("rule.measure", misfit);
    }
    return rule;
  }

  #instancesOf(ruleId: string): Map<string, InstanceState> {
    let map = this.#instances.get(ruleId);
    if (!map) this.#instances.set(ruleId, (map = new Map()));
    return map;
  }

  #forgetRuleState(ruleId: string): void {
    for (const key of this.#instancesOf(ruleId).keys()) this.#store.deleteInstance(ruleId, key);
    this.#instances.delete(ruleId);
    this.#health.delete(ruleId);
    this.#windows.forget(`${ruleId}\u0000`);
  }

  #targets(rule: AlertRule): { found: ContactPoint[]; missing: string[] } {
    if (rule.contactPoints.length === 0) return { found: [...this.#contactPoints.values()].map((c) => c.contactPoint), missing: [] };
    const found = rule.contactPoints.flatMap((name) => this.#contactPoints.get(name)?.contactPoint ?? []);
    return { found, missing: rule.contactPoints.filter((name) => !this.#contactPoints.has(name)) };
  }

  #context(rule: AlertRule, silences: readonly Silence[]) {
    return {
      store: this.#store,
      windows: this.#windows,
      errors: this.#errors,
      silences,
      maxInstances: ALERT_LIMITS.maxInstancesPerRule,
      instances: this.#instancesOf(rule.id),
      notify: (r: AlertRule, notification: Notification) => {
        const targets = this.#targets(r);
        for (const name of targets.missing) this.#record(r, "delivery_failed", notification.labels, notification.value, `${name}: no such contact point`);
        this.#deliverer.enqueue(notification, targets.found);
      },
      record: (r: AlertRule, event: HistoryEvent, labels: Readonly<Record<string, string>>, value: number | null, detail: string | null) =>
        this.#record(r, event, labels, value, detail),
    };
  }

  #record(rule: Pick<AlertRule, "id" | "name">, event: HistoryEvent, labels: Readonly<Record<string, string>>, value: number | null, detail: string | null): void {
    if (this.#closed) return;
    this.#store.appendHistory({ at: this.#clock.now(), rule: rule.id, ruleName: rule.name, state: event, labels, value, detail });
  }

  #onDelivery(report: DeliveryReport): void {
    const n = report.notification;
    const what = `${report.contactPoint}: ${n.status}`;
    let event: HistoryEvent = "delivered";
    let detail = `${what}, HTTP ${report.status}`;
    if (report.outcome === "dropped") {
      event = "dropped";
      detail = `${what}, ${report.error}`;
    } else if (report.outcome === "failed") {
      event = "delivery_failed";
      detail = `${what}, ${report.error} (attempt ${report.attempt}, ${report.final ? "giving up" : "will retry"})`;
    }
    this.#record({ id: n.ruleId, name: n.ruleName }, event, n.labels, n.value, detail);
  }
}
