/** Audit: every change made through the inspector, newest first. */
import { useState } from "preact/hooks";
import { withQuery, type Page } from "../api.ts";
import { Pager, Table } from "../components/table.tsx";
import { Loaded } from "../components/status.tsx";
import { brief, time } from "../format.ts";
import { useApi } from "../hooks.ts";

interface AuditRow {
  at: number;
  role: string;
  action: string;
  target: string;
  /** Whether the change was made (null for an old row whose detail was cut). */
  ok?: boolean | null;
  error?: string;
  detail: unknown;
  beforeHash?: string;
  afterHash?: string;
}

export function AuditView() {
  const [cursors, setCursors] = useState<string[]>([]);
  const page = useApi<Page<AuditRow>>(withQuery("/api/audit", { cursor: cursors.at(-1) }));
  return (
    <section>
      <div class="row">
        <h1>Audit log</h1>
        <button type="button" onClick={page.reload}>
          Refresh
        </button>
      </div>
      <Loaded resource={page}>
        {(data) => (
          <>
            <Table
              caption="Audit log"
              rows={data.items}
              rowKey={(r, i) => `${r.at}-${i}`}
              empty="Nothing has been changed through the inspector."
              columns={[
                { title: "At", cell: (r) => time(r.at) },
                { title: "Role", cell: (r) => r.role },
                { title: "Action", cell: (r) => r.action },
                { title: "Target", cell: (r) => <span class="mono">{r.target}</span> },
                { title: "Outcome", cell: (r) => (r.ok === true ? "done" : r.ok === false ? <span title={r.error}>failed</span> : "—") },
                { title: "Detail", cell: (r) => <span class="mono small">{brief(r.detail, 100)}</span> },
                {
                  title: "Before → after",
                  cell: (r) => (r.beforeHash === undefined ? "—" : <span class="mono small">{r.beforeHash.slice(0, 8)} → {(r.afterHash ?? "").slice(0, 8)}</span>),
                },
              ]}
            />
            <Pager cursors={cursors} next={data.next} onChange={setCursors} />
          </>
        )}
      </Loaded>
    </section>
  );
}
