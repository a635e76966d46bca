import type { Duration } from "../../time/duration.ts";

/** How urgent an alert is; Slack messages are coloured by it. */
export type Severity = "critical" | "warning" | "info";

/** Comparison of a rule's value with its threshold. */
export type Comparison = ">" | ">=" | "<" | "<=" | "==" | "!=";

/** A label matcher: a string is equality; the object forms negate or match a regular expression (anchored). */
export type LabelMatcher = string | { readonly op: "=" | "!=" | "=~" | "!~"; readonly value: string };

/** What a metric rule computes from the series it selects. */
export type MetricMeasure =
  /** The current value of a gauge or counter. */
  | "value"
  /** Per-second increase of a counter over `window`. */
  | "rate"
  /** Increase of a counter over `window`. */
  | "increase"
  /** A quantile (`quantile`, 0..1) of a histogram's observations in `window` (or since start without one). */
  | "quantile";

/** What every rule has, as written by a user (durations as text or milliseconds). */
export interface RuleInputBase {
  /** Stable id (letters, digits, `_`, `-`, `.`; at most 64). Default: made from `name`. */
  readonly id?: string;
  /** Shown in notifications, and the `alertname` label. */
  readonly name: string;
  readonly severity: Severity;
  readonly op?: Comparison;
  readonly threshold: number;
  /** How long the condition must hold before the alert fires. Default 0 (fires at the first evaluation that sees it). */
  readonly for?: Duration;
  /** Stays firing this long after the condition stops holding (anti-flap). Default 0. */
  readonly keepFiringFor?: Duration;
  /** How often a long-firing alert is notified again. Default 4 hours. */
  readonly repeatInterval?: Duration;
  /** Text with `{{value}}`, `{{threshold}}`, `{{labels.x}}`, `{{name}}`, `{{severity}}` (and `{{fingerprint}}`, `{{message}}` for error rules). */
  readonly summary?: string;
  readonly description?: string;
  readonly runbookUrl?: string;
  /** Extra labels on every alert of the rule. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Names of contact points to notify; empty or absent = every contact point. */
  readonly contactPoints?: readonly string[];
  /** Also notify when an alert resolves. Default true. */
  readonly sendResolved?: boolean;
  /** A disabled rule is kept but not evaluated. Default true. */
  readonly enabled?: boolean;
}

/** A rule on a metric of the {@link MetricsRegistry}: one alert per selected series (or per `by` group). */
export interface MetricRuleInput extends RuleInputBase {
  readonly kind: "metric";
  readonly metric: string;
  readonly matchers?: Readonly<Record<string, LabelMatcher>>;
  readonly measure?: MetricMeasure;
  /** Window for `rate`, `increase` and `quantile`, e.g. "5m". */
  readonly window?: Duration;
  /** For `quantile`: 0..1, e.g. 0.95. */
  readonly quantile?: number;
  /** Sum the selected series by these labels (`[]` = one total); absent = each series on its own. */
  readonly by?: readonly string[];
}

/** Which recorded errors an error rule counts. */
export interface ErrorFilter {
  /** Exactly this fingerprint. */
  readonly fingerprint?: string;
  /** The error's name (its class, e.g. "TypeError"). */
  readonly name?: string;
  /** The agent class it was recorded for. */
  readonly class?: string;
}

/** A rule on recorded errors: fires when more than `threshold` matching errors happened in `window`. */
export interface ErrorRuleInput extends RuleInputBase {
  readonly kind: "error";
  readonly match?: ErrorFilter;
  readonly window: Duration;
  /** One alert per fingerprint (each counted on its own) instead of one for all matching errors. Default false. */
  readonly perFingerprint?: boolean;
}

export type AlertRuleInput = MetricRuleInput | ErrorRuleInput;

/** A validated rule: durations in milliseconds, defaults filled in. */
export type AlertRule = ValidatedBase &
  (
    | {
        readonly kind: "metric";
        readonly metric: string;
        readonly matchers: Readonly<Record<string, LabelMatcher>>;
        readonly measure: MetricMeasure;
        readonly windowMs: number | null;
        readonly quantile: number | null;
        readonly by: readonly string[] | null;
      }
    | { readonly kind: "error"; readonly match: ErrorFilter; readonly windowMs: number; readonly perFingerprint: boolean }
  );

export interface ValidatedBase {
  readonly id: string;
  readonly name: string;
  readonly severity: Severity;
  readonly op: Comparison;
  readonly threshold: number;
  readonly forMs: number;
  readonly keepFiringForMs: number;
  readonly repeatIntervalMs: number;
  readonly summary: string | null;
  readonly description: string | null;
  readonly runbookUrl: string | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly contactPoints: readonly string[];
  readonly sendResolved: boolean;
  readonly enabled: boolean;
}

/** Where notifications go: a Slack incoming webhook or any URL taking Alertmanager-style JSON. */
export interface ContactPointInput {
  readonly name: string;
  readonly kind: "slack" | "webhook";
  /** http: or https: URL. */
  readonly url: string;
  /** Sent with every request (e.g. `Authorization`). */
  readonly headers?: Readonly<Record<string, string>>;
}

export type ContactPoint = Required<ContactPointInput>;

/** What a silence matches; every given field must match. `class` is shorthand for `labels.class`. */
export interface SilenceMatchers {
  readonly rule?: string;
  readonly severity?: Severity;
  readonly class?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface SilenceInput {
  readonly matchers: SilenceMatchers;
  /** End of the silence, epoch milliseconds (or a Date). */
  readonly until: number | Date;
  readonly comment?: string;
  readonly createdBy?: string;
}

export interface Silence {
  readonly id: string;
  readonly matchers: SilenceMatchers;
  readonly until: number;
  readonly comment: string;
  readonly createdBy: string | null;
  readonly createdAt: number;
}

/** The state of one alert (a rule and one label set). `resolved` is a moment, after which it is `inactive`. */
export type AlertState = "inactive" | "pending" | "firing";

/** What happened, in the history. A transition of a silenced alert has `detail` "silenced by <id>". */
export type HistoryEvent =
  | "pending"
  | "firing"
  | "resolved"
  | "inactive"
  | "repeat"
  | "delivered"
  | "delivery_failed"
  | "dropped"
  | "test";

/** One history row. */
export interface HistoryItem {
  readonly id: string;
  readonly at: number;
  readonly rule: string;
  readonly ruleName: string;
  readonly state: HistoryEvent;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number | null;
  /** Contact point, HTTP status, error text, silence id… */
  readonly detail: string | null;
}

/** One alert of a rule as it stands. */
export interface AlertInstance {
  readonly labels: Readonly<Record<string, string>>;
  readonly state: AlertState;
  /** When the current state began. */
  readonly since: number;
  readonly value: number | null;
  readonly silencedBy: string | null;
}

/** A rule and how it stands: what `GET /api/alerts` lists. */
export interface RuleStatus {
  readonly id: string;
  readonly name: string;
  readonly kind: "metric" | "error";
  /** The condition in a PromQL-like form, e.g. `rate(app_errors_total[5m]) > 1`. */
  readonly expr: string;
  /** The `for` duration, milliseconds. */
  readonly for: number;
  readonly severity: Severity;
  /** The most severe state of its alerts. */
  readonly state: AlertState;
  readonly since: number | null;
  readonly value: number | null;
  /** "ok", "no data" (metric not registered, no series, too few samples) or "error" (the rule does not fit the metric). */
  readonly health: "ok" | "no data" | "error";
  readonly healthDetail: string | null;
  readonly instances: readonly AlertInstance[];
  readonly rule: AlertRule;
}

/** The answer of a `test` action. */
export interface TestResult {
  /** True when every contact point answered 2xx. */
  readonly delivered: boolean;
  /** The HTTP status of the first failing contact point (or of the last one when all succeeded); null when none answered. */
  readonly status: number | null;
  readonly results: ReadonlyArray<{ readonly contactPoint: string; readonly delivered: boolean; readonly status: number | null; readonly error: string | null }>;
}

/** A page of history. */
export interface HistoryPage {
  readonly items: readonly HistoryItem[];
  readonly next: string | null;
}
