import { createHash } from "node:crypto";
import type { MetricSnapshot } from "../metrics/registry.ts";
import { silenceCovers } from "./describe.ts";
import type { ErrorSource } from "./error-source.ts";
import { labelKey, readMetricRule, type RuleReading } from "./metric-eval.ts";
import type { Notification } from "./payloads.ts";
import { compare, step, type InstanceState } from "./state-machine.ts";
import type { AlertStore } from "./store.ts";
import { renderTemplate } from "./template.ts";
import type { AlertRule, HistoryEvent, Silence } from "./types.ts";
import type { WindowReadings } from "./window-readings.ts";

type ErrorRule = Extract<AlertRule, { kind: "error" }>;

/** What evaluating one rule needs from the engine. */
export interface EvaluationContext {
  readonly store: AlertStore;
  readonly windows: WindowReadings;
  readonly errors: ErrorSource | undefined;
  readonly silences: readonly Silence[];
  readonly maxInstances: number;
  /** The rule's alerts by label key; updated in place. */
  readonly instances: Map<string, InstanceState>;
  readonly notify: (rule: AlertRule, notification: Notification) => void;
  readonly record: (rule: AlertRule, event: HistoryEvent, labels: Readonly<Record<string, string>>, value: number | null, detail: string | null) => void;
}

/** Counts an error rule's errors in its window: one total, or one per fingerprint. */
export function readErrorRule(rule: ErrorRule, errors: ErrorSource | undefined, now: number, maxInstances: number): RuleReading {
  const values: RuleReading["values"] = new Map();
  if (!errors) return { health: "no data", detail: "no error source is configured", values };
  const since = now - rule.windowMs;
  if (!rule.perFingerprint) {
    const sample = errors.sample(rule.match);
    const extra = sample ? { fingerprint: sample.fingerprint, message: sample.message } : {};
    values.set(labelKey({}), { labels: {}, value: errors.countSince(rule.match, since), ...extra });
    return { health: "ok", detail: null, values };
  }
  const counts = errors.countByFingerprintSince(rule.match, since);
  for (const [fingerprint, count] of counts) {
    if (values.size >= maxInstances) return { health: "ok", detail: `more than ${maxInstances} fingerprints; ${counts.size - maxInstances} ignored`, values };
    const labels = { fingerprint };
    const message = errors.sample({ ...rule.match, fingerprint })?.message;
    values.set(labelKey(labels), { labels, value: count, fingerprint, ...(message === undefined ? {} : { message }) });
  }
  return { health: "ok", detail: null, values };
}

/** The labels of a notification: alertname and severity, the rule's labels, then the alert's own. */
export function alertLabels(rule: AlertRule, labels: Readonly<Record<string, string>>): Record<string, string> {
  return { alertname: rule.name, severity: rule.severity, ...rule.labels, ...labels };
}

/** The notification for one alert of `rule`. */
export function buildNotification(
  rule: AlertRule,
  instance: { key: string; labels: Readonly<Record<string, string>>; value: number | null; startsAt: number },
  status: Notification["status"],
  endsAt: number | null,
  extra: { fingerprint?: string; message?: string } = {},
  test = false,
): Notification {
  const labels = alertLabels(rule, instance.labels);
  const values = { value: instance.value, threshold: rule.threshold, name: rule.name, severity: rule.severity, labels, ...extra };
  const fallback = rule.kind === "error" ? "{{value}} errors in the window (threshold {{threshold}}){{message}}" : `value {{value}} ${rule.op} {{threshold}}`;
  const annotations: Record<string, string> = {
    summary: renderTemplate(rule.summary ?? fallback.replace("{{message}}", extra.message ? ": {{message}}" : ""), values),
  };
  if (rule.description) annotations.description = renderTemplate(rule.description, values);
  if (rule.runbookUrl) annotations.runbook_url = rule.runbookUrl;
  const fingerprint = createHash("sha256").update(`${rule.id}\n${instance.key}`).digest("hex").slice(0, 16);
  return { status, ruleId: rule.id, ruleName: rule.name, severity: rule.severity, labels, annotations, value: instance.value, startsAt: instance.startsAt, endsAt, fingerprint, test };
}

/**
 * Evaluates one rule at `now`: reads its values, steps each alert's state machine, records
 * transitions in the history, persists states and queues notifications (not for silenced alerts).
 */
export function evaluateRule(rule: AlertRule, families: readonly MetricSnapshot[], ctx: EvaluationContext, now: number): RuleReading {
  const reading = rule.kind === "metric" ? readMetricRule(rule, families, ctx.windows, now, ctx.maxInstances) : readErrorRule(rule, ctx.errors, now, ctx.maxInstances);
  const keys = new Set([...reading.values.keys(), ...ctx.instances.keys()]);
  for (const key of keys) {
    const current = ctx.instances.get(key);
    const found = reading.values.get(key);
    // No value yet (a windowed measure's first reading, as after a restart): the alert stays as it was.
    if (found === undefined && reading.waiting?.has(key)) continue;
    const labels = found?.labels ?? current!.labels;
    const holds = found !== undefined && compare(found.value, rule.op, rule.threshold);
    const stepped = step(rule, current, { ruleId: rule.id, key, labels, holds, value: found?.value ?? null }, now);
    const transition = stepped.transition;
    let next = stepped.next;
    const full = alertLabels(rule, labels);
    const silence = ctx.silences.find((s) => silenceCovers(s, rule, full, now));
    const extra = { ...(found?.fingerprint ? { fingerprint: found.fingerprint } : {}), ...(found?.message ? { message: found.message } : {}) };
    const value = found?.value ?? current?.value ?? null;
    if (transition) ctx.record(rule, transition, labels, value, silence ? `silenced by ${silence.id}` : null);

    if (transition === "resolved" && current && current.lastSentAt !== null && rule.sendResolved && !silence) {
      ctx.notify(rule, buildNotification(rule, { key, labels, value, startsAt: current.since }, "resolved", now, extra));
    }
    if (next?.state === "firing" && !silence && (next.lastSentAt === null || now - next.lastSentAt >= rule.repeatIntervalMs)) {
      if (next.lastSentAt !== null) ctx.record(rule, "repeat", labels, value, null);
      ctx.notify(rule, buildNotification(rule, { key, labels, value, startsAt: next.since }, "firing", null, extra));
      next = { ...next, lastSentAt: now };
    }
    if (next === undefined) {
      if (current) {
        ctx.instances.delete(key);
        ctx.store.deleteInstance(rule.id, key);
      }
      continue;
    }
    ctx.instances.set(key, next);
    // The value changes every evaluation; it is written only with a change of state, to spare the disk.
    if (transition || next.lastSentAt !== current?.lastSentAt) ctx.store.putInstance(next);
  }
  return reading;
}
