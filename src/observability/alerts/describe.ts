import type { AlertRule, LabelMatcher, Silence } from "./types.ts";

/** Milliseconds in Prometheus's duration form: "5m", "1h30m", "500ms". */
export function promDuration(ms: number): string {
  if (ms === 0) return "0s";
  const units: Array<[string, number]> = [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000], ["ms", 1]];
  let rest = ms;
  let out = "";
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

function selector(matchers: Readonly<Record<string, LabelMatcher | string | undefined>>): string {
  const parts = Object.entries(matchers)
    .filter((entry): entry is [string, LabelMatcher] => entry[1] !== undefined)
    .map(([name, m]) => (typeof m === "string" ? `${name}=${JSON.stringify(m)}` : `${name}${m.op}${JSON.stringify(m.value)}`));
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

/**
 * A rule's condition in a PromQL-like form, for lists and notifications.
 * @example
 * describeRule(rule); // 'sum by (class) (rate(hearth_http_requests_total{status=~"5.."}[5m])) > 1'
 */
export function describeRule(rule: AlertRule): string {
  const condition = ` ${rule.op} ${rule.threshold}`;
  if (rule.kind === "error") {
    const inner = `errors${selector({ ...rule.match })}[${promDuration(rule.windowMs)}]`;
    return (rule.perFingerprint ? `count by (fingerprint) (${inner})` : `count(${inner})`) + condition;
  }
  const series = `${rule.metric}${rule.measure === "quantile" ? "_bucket" : ""}${selector(rule.matchers)}`;
  const windowed = rule.windowMs === null ? series : `${rule.measure === "increase" ? "increase" : "rate"}(${series}[${promDuration(rule.windowMs)}])`;
  if (rule.measure === "quantile") {
    const by = ["le", ...(rule.by ?? [])].join(", ");
    return `histogram_quantile(${rule.quantile}, sum by (${by}) (${windowed}))${condition}`;
  }
  const inner = rule.measure === "value" ? series : windowed;
  if (rule.by === null) return inner + condition;
  return `sum${rule.by.length ? ` by (${rule.by.join(", ")})` : ""} (${inner})${condition}`;
}

/** Whether a silence covers an alert of `rule` with these labels at `now`. */
export function silenceCovers(silence: Silence, rule: Pick<AlertRule, "id" | "severity">, labels: Readonly<Record<string, string>>, now: number): boolean {
  const m = silence.matchers;
  if (silence.until <= now) return false;
  if (m.rule !== undefined && m.rule !== rule.id) return false;
  if (m.severity !== undefined && m.severity !== rule.severity) return false;
  if (m.class !== undefined && labels.class !== m.class) return false;
  return Object.entries(m.labels ?? {}).every(([name, value]) => labels[name] === value);
}
