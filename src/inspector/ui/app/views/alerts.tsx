/** Alerts: rules with their state, a rule form, silences, history, and a test button. */
import { useState } from "preact/hooks";
import { api, withQuery, type Page } from "../api.ts";
import { AdminOnly } from "../components/admin.tsx";
import { Pager, Table } from "../components/table.tsx";
import { ActionResult, Loaded } from "../components/status.tsx";
import { brief, num, time } from "../format.ts";
import { useAction, useApi } from "../hooks.ts";

interface Rule {
  id: string;
  name: string;
  kind: "metric" | "error";
  expr: string;
  for: string | number;
  severity: string;
  state: "inactive" | "pending" | "firing";
  since?: number | null;
  value?: number | null;
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
  const history = useApi<Page<{ rule: string; state: string; at: number; value?: number }>>(
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
                { title: "For", cell: (r) => String(r.for) },
                { title: "Severity", cell: (r) => r.severity },
                { title: "State", cell: (r) => <span class={`status status-${r.state}`}>{r.state}</span> },
                { title: "Since", cell: (r) => time(r.since) },
                { title: "Value", cell: (r) => num(r.value, 3), numeric: true },
                {
                  title: "Actions",
                  cell: (r) => (
                    <AdminOnly what="testing and deleting rules">
                      <span class="row">
                        <button
                          type="button"
                          onClick={() =>
                            void action.run(async () => {
                              const res = await api<{ delivered: boolean; status: unknown }>(`/api/alerts/rules/${encodeURIComponent(r.id)}/test`, "POST");
                              if (!res.delivered) throw new Error(`Test notification not delivered (${String(res.status)}).`);
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
                { title: "Rule", cell: (h) => h.rule },
                { title: "State", cell: (h) => <span class={`status status-${h.state}`}>{h.state}</span> },
                { title: "Value", cell: (h) => num(h.value, 3), numeric: true },
              ]}
            />
            <Pager cursors={cursors} next={data.next} onChange={setCursors} />
          </>
        )}
      </Loaded>
    </section>
  );
}

function RuleForm({ onAdded }: { onAdded: () => void }) {
  const [rule, setRule] = useState({ name: "", kind: "metric", expr: "", for: "1m", severity: "warning" });
  const action = useAction();
  const set = (key: keyof typeof rule) => (e: { currentTarget: HTMLInputElement | HTMLSelectElement }) =>
    setRule({ ...rule, [key]: e.currentTarget.value });
  return (
    <details class="card">
      <summary>Add a rule</summary>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(() => api("/api/alerts/rules", "POST", rule), "Rule added.").then((ok) => ok && onAdded());
        }}
      >
        <label for="rule-name">Name</label>
        <input id="rule-name" value={rule.name} onInput={set("name")} />
        <label for="rule-kind">Kind</label>
        <select id="rule-kind" value={rule.kind} onChange={set("kind")}>
          <option value="metric">metric</option>
          <option value="error">error fingerprint</option>
        </select>
        <label for="rule-expr">Condition</label>
        <input id="rule-expr" class="code" value={rule.expr} placeholder="hearth_http_errors_total > 5" onInput={set("expr")} />
        <label for="rule-for">For (duration)</label>
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
