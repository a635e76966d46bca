import { parseDuration } from "../../time/duration.ts";
import { ALERT_LIMITS } from "./limits.ts";
import { TEMPLATE_PLACEHOLDERS, unknownPlaceholder } from "./template.ts";
import type { AlertRule, Comparison, ErrorFilter, LabelMatcher, MetricMeasure, Severity } from "./types.ts";

/** A rule, contact point or silence that cannot be accepted; `field` names the culprit (e.g. "rule.for"). */
export class AlertValidationError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field} ${message}`);
    this.name = "AlertValidationError";
    this.field = field;
  }
}

export const SEVERITIES: readonly Severity[] = ["critical", "warning", "info"];
export const COMPARISONS: readonly Comparison[] = [">", ">=", "<", "<=", "==", "!="];
const MEASURES: readonly MetricMeasure[] = ["value", "rate", "increase", "quantile"];
const MATCHER_OPS = ["=", "!=", "=~", "!~"];
/** Not "." nor "..": the API names a rule in a URL path, where those two are not names. */
const ID = /^(?!\.\.?$)[A-Za-z0-9_.-]{1,64}$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const COMMON_FIELDS = [
  "id", "name", "kind", "severity", "op", "threshold", "for", "keepFiringFor", "repeatInterval", "summary",
  "description", "runbookUrl", "labels", "contactPoints", "sendResolved", "enabled",
];
const METRIC_FIELDS = new Set([...COMMON_FIELDS, "metric", "matchers", "measure", "window", "quantile", "by"]);
const ERROR_FIELDS = new Set([...COMMON_FIELDS, "match", "window", "perFingerprint"]);

type Input = Record<string, unknown>;

/** `fail("rule.x", "must …")` throws an {@link AlertValidationError}. */
export function fail(field: string, message: string): never {
  throw new AlertValidationError(field, message);
}

export function isRecord(value: unknown): value is Input {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/** A duration field in milliseconds, bounded; `TypeError`/`RangeError` from parsing become validation errors. */
export function durationField(input: Input, key: string, fallback: number, min: number, max: number, field = `rule.${key}`): number {
  const raw = input[key];
  if (raw === undefined) return fallback;
  let ms: number;
  try {
    ms = parseDuration(raw as string | number, field);
  } catch (error) {
    throw new AlertValidationError(field, (error as Error).message.slice(field.length + 1));
  }
  if (ms < min || ms > max) fail(field, `must be between ${min} ms and ${max} ms, got ${show(raw)}`);
  return ms;
}

export function stringField(input: Input, key: string, field: string, max: number, required: boolean): string | null {
  const raw = input[key];
  if (raw === undefined || raw === null) {
    if (required) fail(field, "is required");
    return null;
  }
  if (typeof raw !== "string") fail(field, `must be a string, got ${typeof raw}`);
  if (required && raw.trim() === "") fail(field, "must not be empty");
  if (raw.length > max) fail(field, `must be at most ${max} characters, got ${raw.length}`);
  return raw;
}

function booleanField(input: Input, key: string, fallback: boolean): boolean {
  const raw = input[key];
  if (raw === undefined) return fallback;
  if (typeof raw !== "boolean") fail(`rule.${key}`, `must be true or false, got ${show(raw)}`);
  return raw;
}

export function labelsField(raw: unknown, field: string): Record<string, string> {
  if (raw === undefined) return {};
  if (!isRecord(raw)) fail(field, "must be an object of label name to string value");
  for (const [name, value] of Object.entries(raw)) {
    if (!LABEL_NAME.test(name)) fail(`${field}.${name}`, "is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)");
    if (typeof value !== "string") fail(`${field}.${name}`, `must be a string, got ${typeof value}`);
  }
  return { ...(raw as Record<string, string>) };
}

function templateField(input: Input, key: string): string | null {
  const text = stringField(input, key, `rule.${key}`, ALERT_LIMITS.maxTextLength, false);
  const unknown = text === null ? undefined : unknownPlaceholder(text);
  if (unknown) fail(`rule.${key}`, `uses unknown placeholder ${unknown}; known: ${TEMPLATE_PLACEHOLDERS}`);
  return text;
}

function matchersField(raw: unknown): Record<string, LabelMatcher> {
  if (raw === undefined) return {};
  if (!isRecord(raw)) fail("rule.matchers", "must be an object of label name to matcher");
  const out: Record<string, LabelMatcher> = {};
  for (const [name, matcher] of Object.entries(raw)) {
    const field = `rule.matchers.${name}`;
    if (!LABEL_NAME.test(name)) fail(field, "is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)");
    if (typeof matcher === "string") {
      out[name] = matcher;
      continue;
    }
    if (!isRecord(matcher) || typeof matcher.value !== "string" || !MATCHER_OPS.includes(matcher.op as string)) {
      fail(field, `must be a string or { op: "=" | "!=" | "=~" | "!~", value: string }`);
    }
    if (matcher.op === "=~" || matcher.op === "!~") {
      try {
        new RegExp(`^(?:${matcher.value})$`);
      } catch (error) {
        fail(field, `is not a valid regular expression: ${(error as Error).message}`);
      }
    }
    out[name] = { op: matcher.op as "=" | "!=" | "=~" | "!~", value: matcher.value };
  }
  return out;
}

function slugOf(name: string): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9_.-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64);
  return slug === "" || slug === "." || slug === ".." ? "rule" : slug;
}

function refuseUnknownFields(input: Input, known: Set<string>, kind: string): void {
  for (const key of Object.keys(input)) {
    if (!known.has(key)) fail(`rule.${key}`, `is not a field of ${kind === "error" ? "an" : "a"} ${kind} rule`);
  }
}

/**
 * Checks a rule as written by a user and fills in its defaults; throws {@link AlertValidationError}
 * naming the field. A metric that is not registered is accepted here (it reports "no data").
 * @example
 * validateRule({ kind: "metric", name: "Queue deep", metric: "hearth_queue_backlog_messages", threshold: 100, severity: "warning", for: "5m" });
 */
export function validateRule(input: unknown): AlertRule {
  if (!isRecord(input)) fail("rule", "must be an object");
  const kind = input.kind;
  if (kind !== "metric" && kind !== "error") fail("rule.kind", `must be "metric" or "error", got ${show(kind)}`);
  refuseUnknownFields(input, kind === "metric" ? METRIC_FIELDS : ERROR_FIELDS, kind);
  const name = stringField(input, "name", "rule.name", ALERT_LIMITS.maxNameLength, true)!;
  const id = stringField(input, "id", "rule.id", 64, false) ?? slugOf(name);
  if (!ID.test(id)) fail("rule.id", `must be 1 to 64 letters, digits, "_", "-" or "." (not "." or ".." alone), got ${show(id)}`);
  if (!SEVERITIES.includes(input.severity as Severity)) fail("rule.severity", `must be one of ${SEVERITIES.join(", ")}, got ${show(input.severity)}`);
  const op = input.op ?? ">";
  if (!COMPARISONS.includes(op as Comparison)) fail("rule.op", `must be one of ${COMPARISONS.join(" ")}, got ${show(op)}`);
  if (typeof input.threshold !== "number" || !Number.isFinite(input.threshold)) {
    fail("rule.threshold", `must be a finite number, got ${show(input.threshold)}`);
  }
  const contactPoints = input.contactPoints ?? [];
  if (!Array.isArray(contactPoints) || contactPoints.some((c) => typeof c !== "string")) fail("rule.contactPoints", "must be an array of contact point names");
  const base = {
    id,
    name,
    severity: input.severity as Severity,
    op: op as Comparison,
    threshold: input.threshold,
    forMs: durationField(input, "for", 0, 0, ALERT_LIMITS.maxWindowMs),
    keepFiringForMs: durationField(input, "keepFiringFor", 0, 0, ALERT_LIMITS.maxWindowMs),
    repeatIntervalMs: durationField(input, "repeatInterval", ALERT_LIMITS.defaultRepeatIntervalMs, ALERT_LIMITS.minRepeatIntervalMs, ALERT_LIMITS.maxRepeatIntervalMs),
    summary: templateField(input, "summary"),
    description: templateField(input, "description"),
    runbookUrl: stringField(input, "runbookUrl", "rule.runbookUrl", ALERT_LIMITS.maxTextLength, false),
    labels: labelsField(input.labels, "rule.labels"),
    contactPoints: [...(contactPoints as string[])],
    sendResolved: booleanField(input, "sendResolved", true),
    enabled: booleanField(input, "enabled", true),
  };
  return kind === "metric" ? { ...base, kind, ...metricPart(input) } : { ...base, kind, ...errorPart(input) };
}

function metricPart(input: Input) {
  if (typeof input.metric !== "string" || !METRIC_NAME.test(input.metric)) {
    fail("rule.metric", `must be a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), got ${show(input.metric)}`);
  }
  const measure = input.measure ?? "value";
  if (!MEASURES.includes(measure as MetricMeasure)) fail("rule.measure", `must be one of ${MEASURES.join(", ")}, got ${show(measure)}`);
  const needsWindow = measure === "rate" || measure === "increase";
  if (needsWindow && input.window === undefined) fail("rule.window", `is required for measure "${String(measure)}"`);
  const windowMs = input.window === undefined ? null : durationField(input, "window", 0, 1, ALERT_LIMITS.maxWindowMs);
  let quantile: number | null = null;
  if (measure === "quantile") {
    if (typeof input.quantile !== "number" || !(input.quantile >= 0 && input.quantile <= 1)) {
      fail("rule.quantile", `must be a number from 0 to 1 for measure "quantile", got ${show(input.quantile)}`);
    }
    quantile = input.quantile;
  } else if (input.quantile !== undefined) {
    fail("rule.quantile", `is only for measure "quantile"`);
  }
  let by: string[] | null = null;
  if (input.by !== undefined) {
    if (!Array.isArray(input.by) || input.by.some((label) => typeof label !== "string" || !LABEL_NAME.test(label))) {
      fail("rule.by", "must be an array of label names");
    }
    by = [...(input.by as string[])];
  }
  return { metric: input.metric, matchers: matchersField(input.matchers), measure: measure as MetricMeasure, windowMs, quantile, by };
}

function errorPart(input: Input) {
  if (input.window === undefined) fail("rule.window", "is required for an error rule");
  const windowMs = durationField(input, "window", 0, 1, ALERT_LIMITS.maxWindowMs);
  const raw = input.match ?? {};
  if (!isRecord(raw)) fail("rule.match", "must be an object { fingerprint?, name?, class? }");
  const match: { fingerprint?: string; name?: string; class?: string } = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key !== "fingerprint" && key !== "name" && key !== "class") fail(`rule.match.${key}`, "is not a field of an error match (fingerprint, name, class)");
    if (typeof value !== "string" || value === "") fail(`rule.match.${key}`, "must be a non-empty string");
    match[key] = value;
  }
  return { match: match as ErrorFilter, windowMs, perFingerprint: booleanField(input, "perFingerprint", false) };
}
