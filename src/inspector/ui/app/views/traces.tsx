/** Traces: the kept traces, filtered by class, instance, conversation, model, error, duration, cost. */
import { withQuery, type Page } from "../api.ts";
import { FilterForm, filterValues, type FilterField } from "../components/filters.tsx";
import { Pager, Table, usePageCursors } from "../components/table.tsx";
import { Loaded } from "../components/status.tsx";
import { inCluster, MissingNodes, NodeBadge } from "../components/cluster.tsx";
import { duration, num, time, usd } from "../format.ts";
import { useApi } from "../hooks.ts";
import { href } from "../router.ts";

interface TraceRow {
  traceId: string;
  rootName: string;
  class?: string;
  agent?: string;
  startedAt: number;
  durationMs: number;
  spans: number;
  error: boolean;
  tokens?: number;
  costUsd?: number;
  /** On a cluster node: the node that kept it. */
  node?: string;
}

const FIELDS: FilterField[] = [
  { name: "class", label: "Class" },
  { name: "agent", label: "Instance" },
  { name: "conversation", label: "Conversation" },
  { name: "model", label: "Model" },
  { name: "minDurationMs", label: "Min ms", type: "number" },
  { name: "minCostUsd", label: "Min $", type: "number" },
  { name: "error", label: "Errors only", type: "checkbox" },
];

export function TracesView({ query }: { query: URLSearchParams }) {
  const [cursors, setCursors] = usePageCursors(query.toString());
  const list = useApi<Page<TraceRow> & { missingNodes?: string[] }>(withQuery("/api/traces", { ...filterValues(FIELDS, query), cursor: cursors.at(-1) }));
  return (
    <section>
      <div class="row">
        <h1>Traces</h1>
        <button type="button" onClick={list.reload}>
          Refresh
        </button>
      </div>
      <FilterForm section="traces" fields={FIELDS} query={query} />
      <Loaded resource={list}>
        {(data) => (
          <>
            <MissingNodes nodes={data.missingNodes} />
            <Table
              caption="Traces"
              rows={data.items}
              rowKey={(t) => t.traceId}
              empty="No traces match."
              columns={[
                {
                  title: "Root",
                  cell: (t) => (
                    <a href={href(["traces", t.traceId])} class={t.error ? "error-text" : undefined}>
                      {t.rootName}
                      {t.error ? " (error)" : ""}
                    </a>
                  ),
                },
                {
                  title: "Agent",
                  cell: (t) =>
                    t.class !== undefined && t.agent !== undefined ? (
                      <a href={href(["agents", t.class, t.agent])}>{t.class}/{t.agent}</a>
                    ) : (t.class ?? "—"),
                },
                { title: "Started", cell: (t) => time(t.startedAt) },
                { title: "Duration", cell: (t) => duration(t.durationMs), numeric: true },
                { title: "Spans", cell: (t) => num(t.spans), numeric: true },
                { title: "Tokens", cell: (t) => num(t.tokens), numeric: true },
                { title: "Cost", cell: (t) => usd(t.costUsd), numeric: true },
                ...(inCluster(data.items) ? [{ title: "Node", cell: (t: TraceRow) => <NodeBadge node={t.node} /> }] : []),
              ]}
            />
            <Pager cursors={cursors} next={data.next} onChange={setCursors} />
          </>
        )}
      </Loaded>
    </section>
  );
}
