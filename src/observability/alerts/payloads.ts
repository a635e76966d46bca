import { ALERT_LIMITS } from "./limits.ts";
import { formatNumber } from "./template.ts";
import type { Severity } from "./types.ts";

/** One alert to tell a contact point about. */
export interface Notification {
  readonly status: "firing" | "resolved";
  readonly ruleId: string;
  readonly ruleName: string;
  readonly severity: Severity;
  /** `alertname`, `severity`, the rule's labels and the series' labels. */
  readonly labels: Readonly<Record<string, string>>;
  /** `summary`, and `description` / `runbook_url` when the rule has them. */
  readonly annotations: Readonly<Record<string, string>>;
  readonly value: number | null;
  readonly startsAt: number;
  /** When it resolved; null while firing. */
  readonly endsAt: number | null;
  /** Identifies this alert (rule and label set) across notifications. */
  readonly fingerprint: string;
  /** A notification sent by the `test` action. */
  readonly test: boolean;
}

/** Alertmanager's "no end time" for a firing alert. */
const ZERO_TIME = "0001-01-01T00:00:00Z";

/**
 * The Alertmanager webhook payload (version "4"), one alert per notification, so existing
 * Alertmanager-webhook consumers read it unchanged. `values` is Grafana's extra field.
 */
export function webhookPayload(n: Notification, receiver: string, externalUrl: string): Record<string, unknown> {
  return {
    version: "4",
    status: n.status,
    receiver,
    groupKey: `{}:{alertname=${JSON.stringify(n.ruleName)}}`,
    truncatedAlerts: 0,
    groupLabels: { alertname: n.ruleName },
    commonLabels: n.labels,
    commonAnnotations: n.annotations,
    externalURL: externalUrl,
    alerts: [
      {
        status: n.status,
        labels: n.labels,
        annotations: n.annotations,
        startsAt: new Date(n.startsAt).toISOString(),
        endsAt: n.endsAt === null ? ZERO_TIME : new Date(n.endsAt).toISOString(),
        generatorURL: externalUrl === "" ? "" : `${externalUrl}#/alerts/${encodeURIComponent(n.ruleId)}`,
        fingerprint: n.fingerprint,
        values: n.value === null ? {} : { value: n.value },
      },
    ],
  };
}

/** Slack attachment colours: red, amber and blue by severity; green once resolved. */
export const SLACK_COLOURS: Readonly<Record<Severity | "resolved", string>> = {
  critical: "#E01E5A",
  warning: "#ECB22E",
  info: "#36C5F0",
  resolved: "#2EB67D",
};

function cap(text: string): string {
  return text.length <= ALERT_LIMITS.slackTextLength ? text : `${text.slice(0, ALERT_LIMITS.slackTextLength - 1)}…`;
}

/** Slack's mrkdwn treats &, < and > as markup. */
function escapeSlack(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * A Slack incoming-webhook message: `text` (the notification line, also the fallback), `blocks`, and
 * an attachment coloured by severity (green when resolved) carrying the labels and the value.
 */
export function slackPayload(n: Notification, externalUrl: string): Record<string, unknown> {
  const tag = n.test ? "TEST" : n.status === "firing" ? `FIRING:${n.severity}` : "RESOLVED";
  const title = `[${tag}] ${n.ruleName}`;
  const summary = n.annotations.summary ?? "";
  // Slack reads the top-level text as mrkdwn too (it is the notification and the fallback): escaped like the blocks.
  const text = cap(escapeSlack(summary === "" ? title : `${title}: ${summary}`));
  const labelLine = Object.entries(n.labels)
    .map(([name, value]) => `${name}=${value}`)
    .join(", ");
  const details = [n.annotations.description, `Value: ${formatNumber(n.value)}`, `Labels: ${labelLine}`, n.annotations.runbook_url && `Runbook: ${n.annotations.runbook_url}`]
    .filter((line): line is string => typeof line === "string" && line !== "")
    .join("\n");
  const blocks: unknown[] = [
    { type: "section", text: { type: "mrkdwn", text: cap(`*${escapeSlack(title)}*${summary === "" ? "" : `\n${escapeSlack(summary)}`}`) } },
  ];
  if (externalUrl !== "") blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: `<${externalUrl}#/alerts/${encodeURIComponent(n.ruleId)}|Open in Hearth>` }] });
  return {
    text,
    blocks,
    attachments: [
      {
        color: n.status === "resolved" ? SLACK_COLOURS.resolved : SLACK_COLOURS[n.severity],
        fallback: text,
        text: cap(escapeSlack(details)),
        footer: "Hearth alerts",
        ts: Math.floor((n.endsAt ?? n.startsAt) / 1000),
      },
    ],
  };
}
