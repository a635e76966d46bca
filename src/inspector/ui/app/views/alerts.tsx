/** Alerts: rules with their state, a rule form, silences, history, and a test button. */
import { useState } from "preact/hooks";
import { api, withQuery, type Page } from "../api.ts";
import { AdminOnly } from "../components/admin.tsx";
import { Pager, Table } from "../components/table.tsx";
import { ActionResult, Loaded } from "../components/status.tsx";
import { brief, duration, num, time } from "../format.ts";
import { useAction, useApi } from "../hooks.ts";

interface Rule {
  id: string;
  name: string;
  kind: "metric" | "error";
  /** The condition in a PromQL-like form, e.g. `rate(app_errors_total[5m]) > 1`. */
  expr: string;
  /** Milliseconds the condition must hold before firing. */
  for: number;
  severity: string;
  state: "inactive" | "pending" | "firing";
  since?: number | null;
  value?: number | null;
  health?: "ok" | "no data" | "error";
  healthDetail?: string | null;
}

interface Silence {
  id: string;
  matchers: { rule?: string; severity?: string; class?: string };
  until: number;
  comment: string;
}

export function AlertsView() {
  const alerts = useApi<{ rules: Rule[]; silences: Silence[] }>("/api/alerts", 5000);
  const [cursors, setCursors] = useState<string[]>([]);
  const history = useApi<Page<{ rule: string; ruleName?: string; state: string; at: number; value?: number | null; detail?: string | null }>>(
    withQuery("/api/alerts/history", { cursor: cursors.at(-1) }),
    5000,
  );
  const action = useAction();
  const after = () => alerts.reload();
  return (
    <section>
      <h1>Alerts</h1>
      <ActionResult error={action.error} message={action.message} />
      <Loaded resource={alerts}>
        {(data) => (
          <>
            <h2>Rules</h2>
            <Table
              caption="Alert rules"
              rows={data.rules}
              rowKey={(r) => r.id}
              empty="No alert rules."
              columns={[
                { title: "Name", cell: (r) => r.name },
                { title: "Condition", cell: (r) => <span class="mono">{r.kind}: {r.expr}</span> },
                { title: "For", cell: (r) => (typeof r.for === "number" ? duration(r.for) : String(r.for)) },
                { title: "Severity", cell: (r) => r.severity },
                { title: "State", cell: (r) => <span class={`status status-${r.state}`}>{r.state}</span> },
                { title: "Since", cell: (r) => time(r.since) },
                { title: "Value", cell: (r) => num(r.value, 3), numeric: true },
                {
                  title: "Health",
                  cell: (r) => (
                    <span class={r.health === "error" ? "error-text" : undefined} title={r.healthDetail ?? undefined}>
                      {r.health ?? "—"}
                      {r.healthDetail ? `: ${r.healthDetail}` : ""}
                    </span>
                  ),
                },
                {
                  title: "Actions",
                  cell: (r) => (
                    <AdminOnly what="testing and deleting rules">
                      <span class="row">
                        <button
                          type="button"
                          onClick={() =>
                            void action.run(async () => {
                              const res = await api<{ delivered: boolean; status: number | null; error?: string }>(`/api/alerts/rules/${encodeURIComponent(r.id)}/test`, "POST");
                              if (!res.delivered) throw new Error(`Test notification not delivered: ${res.error ?? (res.status === null ? "no answer" : `HTTP ${res.status}`)}.`);
                            }, `Test notification for ${r.name} delivered.`)
                          }
                        >
                          Test
                        </button>
                        <button
                          type="button"
                          aria-label={`Delete rule ${r.name}`}
                          onClick={() => void action.run(() => api(`/api/alerts/rules/${encodeURIComponent(r.id)}`, "DELETE"), "Rule deleted.").then(after)}
                        >
                          Delete
                        </button>
                      </span>
                    </AdminOnly>
                  ),
                },
              ]}
            />
            <AdminOnly what="adding rules">
              <RuleForm onAdded={after} />
            </AdminOnly>
            <h2>Silences</h2>
            <Table
              caption="Silences"
              rows={data.silences}
              rowKey={(s) => s.id}
              empty="No silences."
              columns={[
                { title: "Matches", cell: (s) => <span class="mono">{brief(s.matchers)}</span> },
                { title: "Until", cell: (s) => time(s.until) },
                { title: "Comment", cell: (s) => s.comment },
                {
                  title: "Actions",
                  cell: (s) => (
                    <AdminOnly what="removing silences">
                      <button
                        type="button"
                        aria-label={`Remove silence ${s.id}`}
                        onClick={() => void action.run(() => api(`/api/alerts/silences/${encodeURIComponent(s.id)}`, "DELETE"), "Silence removed.").then(after)}
                      >
                        Remove
                      </button>
                    </AdminOnly>
                  ),
                },
              ]}
            />
            <AdminOnly what="adding silences">
              <SilenceForm onAdded={after} />
            </AdminOnly>
          </>
        )}
      </Loaded>
      <h2>History</h2>
      <Loaded resource={history}>
        {(data) => (
          <>
            <Table
              caption="Alert history"
              rows={data.items}
              rowKey={(h, i) => `${h.rule}-${h.at}-${i}`}
              empty="No alert has changed state yet."
              columns={[
                { title: "At", cell: (h) => time(h.at) },
                { title: "Rule", cell: (h) => h.ruleName ?? h.rule },
                { title: "Event", cell: (h) => <span class={`status status-${h.state}`}>{h.state}</span> },
                { title: "Value", cell: (h) => num(h.value, 3), numeric: true },
                { title: "Detail", cell: (h) => h.detail ?? "" },
              ]}
            />
            <Pager cursors={cursors} next={data.next} onChange={setCursors} />
          </>
        )}
      </Loaded>
    </section>
  );
}

type RuleDraft = {
  name: string;
  kind: "metric" | "error";
  metric: string;
  measure: "value" | "rate" | "increase" | "quantile";
  quantile: string;
  op: string;
  threshold: string;
  window: string;
  for: string;
  severity: string;
};

/** The rule as the API takes it (docs/observability alerts): a metric rule or an error rule. */
function ruleBody(d: RuleDraft): Record<string, unknown> {
  const threshold = Number(d.threshold);
  if (d.threshold.trim() === "" || !Number.isFinite(threshold)) throw new Error("The threshold must be a number.");
  const base = { name: d.name.trim(), op: d.op, threshold, for: d.for.trim() || "0s", severity: d.severity };
  if (d.kind === "error") return { ...base, kind: "error", window: d.window.trim() || "5m" };
  return {
    ...base,
    kind: "metric",
    metric: d.metric.trim(),
    measure: d.measure,
    ...(d.measure === "value" ? {} : { window: d.window.trim() || "5m" }),
    ...(d.measure === "quantile" ? { quantile: Number(d.quantile) } : {}),
  };
}

function RuleForm({ onAdded }: { onAdded: () => void }) {
  const [rule, setRule] = useState<RuleDraft>({
    name: "",
    kind: "metric",
    metric: "",
    measure: "value",
    quantile: "0.95",
    op: ">",
    threshold: "",
    window: "5m",
    for: "1m",
    severity: "warning",
  });
  const action = useAction();
  const set = (key: keyof RuleDraft) => (e: { currentTarget: HTMLInputElement | HTMLSelectElement }) =>
    setRule({ ...rule, [key]: e.currentTarget.value });
  return (
    <details class="card">
      <summary>Add a rule</summary>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(() => api("/api/alerts/rules", "POST", ruleBody(rule)), "Rule added.").then((ok) => ok && onAdded());
        }}
      >
        <label for="rule-name">Name</label>
        <input id="rule-name" value={rule.name} onInput={set("name")} />
        <label for="rule-kind">Kind</label>
        <select id="rule-kind" value={rule.kind} onChange={set("kind")}>
          <option value="metric">metric</option>
          <option value="error">errors (count of recorded errors in a window)</option>
        </select>
        {rule.kind === "metric" && (
          <>
            <label for="rule-metric">Metric</label>
            <input id="rule-metric" class="code" value={rule.metric} placeholder="hearth_http_request_errors_total" onInput={set("metric")} />
            <label for="rule-measure">Measure</label>
            <select id="rule-measure" value={rule.measure} onChange={set("measure")}>
              <option value="value">value</option>
              <option value="rate">rate (per second over the window)</option>
              <option value="increase">increase over the window</option>
              <option value="quantile">quantile of a histogram</option>
            </select>
            {rule.measure === "quantile" && (
              <>
                <label for="rule-quantile">Quantile (0–1)</label>
                <input id="rule-quantile" value={rule.quantile} onInput={set("quantile")} />
              </>
            )}
          </>
        )}
        <label for="rule-op">Comparison</label>
        <select id="rule-op" value={rule.op} onChange={set("op")}>
          {[">", ">=", "<", "<=", "==", "!="].map((op) => (
            <option key={op} value={op}>
              {op}
            </option>
          ))}
        </select>
        <label for="rule-threshold">Threshold</label>
        <input id="rule-threshold" value={rule.threshold} onInput={set("threshold")} />
        {(rule.kind === "error" || rule.measure !== "value") && (
          <>
            <label for="rule-window">Window</label>
            <input id="rule-window" value={rule.window} onInput={set("window")} />
          </>
        )}
        <label for="rule-for">For (how long it must hold)</label>
        <input id="rule-for" value={rule.for} onInput={set("for")} />
        <label for="rule-severity">Severity</label>
        <select id="rule-severity" value={rule.severity} onChange={set("severity")}>
          <option value="info">info</option>
          <option value="warning">warning</option>
          <option value="critical">critical</option>
        </select>
        <button type="submit" class="primary" disabled={action.busy}>
          Add rule
        </button>
        <ActionResult error={action.error} message={action.message} />
      </form>
    </details>
  );
}

function SilenceForm({ onAdded }: { onAdded: () => void }) {
  const [rule, setRule] = useState("");
  const [minutes, setMinutes] = useState("60");
  const [comment, setComment] = useState("");
  const action = useAction();
  return (
    <details class="card">
      <summary>Add a silence</summary>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const body = { matchers: rule === "" ? {} : { rule }, until: Date.now() + Number(minutes) * 60_000, comment };
          void action.run(() => api("/api/alerts/silences", "POST", body), "Silence added.").then((ok) => ok && onAdded());
        }}
      >
        <label for="silence-rule">Rule id (empty: all rules)</label>
        <input id="silence-rule" value={rule} onInput={(e) => setRule(e.currentTarget.value)} />
        <label for="silence-minutes">For minutes</label>
        <input id="silence-minutes" type="number" min="1" value={minutes} onInput={(e) => setMinutes(e.currentTarget.value)} />
        <label for="silence-comment">Comment</label>
        <input id="silence-comment" value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
        <button type="submit" class="primary" disabled={action.busy}>
          Add silence
        </button>
        <ActionResult error={action.error} message={action.message} />
      </form>
    </details>
  );
}
