/** Team runs: the list with filters, and one run's steps on a timeline. */
import { useState } from "preact/hooks";
import { withQuery, type Page } from "../api.ts";
import { FilterForm, filterValues, type FilterField } from "../components/filters.tsx";
import { JsonView } from "../components/json-view.tsx";
import { Pager, Table } from "../components/table.tsx";
import { Timeline } from "../components/timeline.tsx";
import { Loaded } from "../components/status.tsx";
import { duration, num, time, usd } from "../format.ts";
import { useApi } from "../hooks.ts";
import { href } from "../router.ts";
import { errorText } from "./workflows.tsx";

interface RunRow {
  class: string;
  name: string;
  runId: string;
  team: string;
  status: string;
  startedAt: number;
  endedAt?: number | null;
  tokens: number;
  costUsd: number;
}

interface RunStep {
  id: string;
  node: string;
  member: string;
  status: string;
  startedAt?: number | null;
  endedAt?: number | null;
  input?: unknown;
  output?: unknown;
  error?: unknown;
  tokens?: number;
}

const FIELDS: FilterField[] = [
  { name: "class", label: "Class" },
  { name: "status", label: "Status", type: "select", options: ["running", "waiting", "complete", "errored", "cancelled"] },
];

export function TeamRunsView({ query }: { query: URLSearchParams }) {
  const [cursors, setCursors] = useState<string[]>([]);
  const list = useApi<Page<RunRow>>(withQuery("/api/team-runs", { ...filterValues(FIELDS, query), cursor: cursors.at(-1) }), 3000);
  return (
    <section>
      <h1>Team runs</h1>
      <FilterForm section="team-runs" fields={FIELDS} query={query} />
      <Loaded resource={list}>
        {(data) => (
          <>
            <Table
              caption="Team runs"
              rows={data.items}
              rowKey={(r) => `${r.class}/${r.name}/${r.runId}`}
              empty="No team runs match."
              columns={[
                { title: "Run", cell: (r) => <a href={href(["team-runs", r.class, r.name, r.runId])}>{r.runId}</a> },
                { title: "Team", cell: (r) => r.team },
                { title: "Owner", cell: (r) => <a href={href(["agents", r.class, r.name])}>{r.class}/{r.name}</a> },
                { title: "Status", cell: (r) => <span class={`status status-${r.status}`}>{r.status}</span> },
                { title: "Started", cell: (r) => time(r.startedAt) },
                { title: "Tokens", cell: (r) => num(r.tokens), numeric: true },
                { title: "Cost", cell: (r) => usd(r.costUsd), numeric: true },
              ]}
            />
            <Pager cursors={cursors} next={data.next} onChange={setCursors} />
          </>
        )}
      </Loaded>
    </section>
  );
}

export function TeamRunView({ agentClass, name, runId }: { agentClass: string; name: string; runId: string }) {
  const path = `/api/team-runs/${[agentClass, name, runId].map(encodeURIComponent).join("/")}`;
  const run = useApi<RunRow & { steps: RunStep[] }>(path, 2000);
  return (
    <section>
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href={href(["team-runs"])}>Team runs</a> › <span aria-current="page">{runId}</span>
      </nav>
      <h1>Team run {runId}</h1>
      <Loaded resource={run}>
        {(data) => (
          <>
            <p>
              {data.team} · owned by <a href={href(["agents", data.class, data.name])}>{data.class}/{data.name}</a> ·{" "}
              <span class={`status status-${data.status}`}>{data.status}</span> · {num(data.tokens)} tokens · {usd(data.costUsd)}
            </p>
            <h2>Steps</h2>
            <Timeline
              steps={data.steps.map((s) => ({
                key: s.id,
                label: (
                  <>
                    <span class="mono">{s.node}</span> <span class="muted">by {s.member}</span>
                  </>
                ),
                kind: "step",
                status: s.status,
                startedAt: s.startedAt,
                endedAt: s.endedAt,
                detail: (
                  <>
                    <p class="muted small">
                      {time(s.startedAt)} → {time(s.endedAt)} ({duration(s.startedAt != null && s.endedAt != null ? s.endedAt - s.startedAt : null)}) ·{" "}
                      {num(s.tokens)} tokens
                    </p>
                    {s.input !== undefined && <><h3>Input</h3><JsonView value={s.input} label={`Input of ${s.node}`} /></>}
                    {s.output !== undefined && <><h3>Output</h3><JsonView value={s.output} label={`Output of ${s.node}`} /></>}
                    {s.error !== undefined && s.error !== null && <p class="error">{errorText(s.error)}</p>}
                  </>
                ),
              }))}
            />
          </>
        )}
      </Loaded>
    </section>
  );
}
