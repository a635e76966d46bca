import { ALERT_LIMITS } from "./limits.ts";
import type { ContactPoint, SilenceMatchers, Severity } from "./types.ts";
import { fail, isRecord, labelsField, SEVERITIES, stringField } from "./validate-rule.ts";

/** Not "." nor "..": the API names a contact point in a URL path, where those two are not names. */
const CONTACT_NAME = /^(?!\.\.?$)[A-Za-z0-9_.-]{1,64}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Checks a contact point: a name, a kind ("slack" or "webhook"), an http(s) URL and optional headers.
 * @example
 * validateContactPoint({ name: "ops", kind: "slack", url: "https://hooks.slack.com/services/T/B/X" });
 */
export function validateContactPoint(input: unknown): ContactPoint {
  if (!isRecord(input)) fail("contactPoint", "must be an object");
  for (const key of Object.keys(input)) {
    if (!["name", "kind", "url", "headers"].includes(key)) fail(`contactPoint.${key}`, "is not a field of a contact point (name, kind, url, headers)");
  }
  const name = stringField(input, "name", "contactPoint.name", 64, true)!;
  if (!CONTACT_NAME.test(name)) fail("contactPoint.name", `must be 1 to 64 letters, digits, "_", "-" or "." (not "." or ".." alone), got ${JSON.stringify(name)}`);
  if (input.kind !== "slack" && input.kind !== "webhook") fail("contactPoint.kind", `must be "slack" or "webhook", got ${JSON.stringify(input.kind)}`);
  const url = stringField(input, "url", "contactPoint.url", ALERT_LIMITS.maxTextLength, true)!;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    fail("contactPoint.url", `is not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") fail("contactPoint.url", `must be http: or https:, got ${parsed.protocol}`);
  const headers: Record<string, string> = {};
  if (input.headers !== undefined) {
    if (!isRecord(input.headers)) fail("contactPoint.headers", "must be an object of header name to string value");
    for (const [header, value] of Object.entries(input.headers)) {
      if (!HEADER_NAME.test(header)) fail(`contactPoint.headers.${header}`, "is not a valid header name");
      if (typeof value !== "string" || /[\r\n]/.test(value)) fail(`contactPoint.headers.${header}`, "must be a string without line breaks");
      headers[header] = value;
    }
  }
  return { name, kind: input.kind, url, headers };
}

/** Checks a silence's matchers (at least one) and its end time, which must be in the future. */
export function validateSilence(input: unknown, now: number): { matchers: SilenceMatchers; until: number; comment: string; createdBy: string | null } {
  if (!isRecord(input)) fail("silence", "must be an object");
  const raw = input.matchers;
  if (!isRecord(raw)) fail("silence.matchers", "must be an object { rule?, severity?, class?, labels? }");
  const matchers: { rule?: string; severity?: Severity; class?: string; labels?: Record<string, string> } = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (key === "labels") {
      matchers.labels = labelsField(value, "silence.matchers.labels");
    } else if (key === "severity") {
      if (!SEVERITIES.includes(value as Severity)) fail("silence.matchers.severity", `must be one of ${SEVERITIES.join(", ")}, got ${JSON.stringify(value)}`);
      matchers.severity = value as Severity;
    } else if (key === "rule" || key === "class") {
      if (typeof value !== "string" || value === "") fail(`silence.matchers.${key}`, "must be a non-empty string");
      matchers[key] = value;
    } else {
      fail(`silence.matchers.${key}`, "is not a silence matcher (rule, severity, class, labels)");
    }
  }
  if (Object.keys(matchers).length === 0 || (matchers.labels && Object.keys(matchers).length === 1 && Object.keys(matchers.labels).length === 0)) {
    fail("silence.matchers", "must match something: give rule, severity, class or labels");
  }
  const until = input.until instanceof Date ? input.until.getTime() : input.until;
  if (typeof until !== "number" || !Number.isFinite(until)) fail("silence.until", `must be epoch milliseconds or a Date, got ${JSON.stringify(input.until)}`);
  if (until <= now) fail("silence.until", `must be in the future, got ${new Date(until).toISOString()}`);
  const comment = stringField(input, "comment", "silence.comment", ALERT_LIMITS.maxTextLength, false) ?? "";
  const createdBy = stringField(input, "createdBy", "silence.createdBy", ALERT_LIMITS.maxNameLength, false);
  return { matchers, until, comment, createdBy };
}
