/** Team runs: the list with filters, and one run's steps on a timeline. */
import { api, withQuery, type Page } from "../api.ts";
import { AdminOnly } from "../components/admin.tsx";
import { ActionResult } from "../components/status.tsx";
import { useAction } from "../hooks.ts";
import { FilterForm, filterValues, type FilterField } from "../components/filters.tsx";
import { JsonView } from "../components/json-view.tsx";
import { Pager, Table, usePageCursors } from "../components/table.tsx";
import { Timeline } from "../components/timeline.tsx";
import { Loaded } from "../components/status.tsx";
import { inCluster, MissingNodes, NodeBadge } from "../components/cluster.tsx";
import { duration, num, time, usd } from "../format.ts";
import { useApi } from "../hooks.ts";
import { href, navigate } from "../router.ts";
import { errorText } from "./workflows.tsx";

/** A team run as the list routes answer it. */
export interface RunRow {
  class: string;
  name: string;
  /** The owner's sub-agent path below the root, "" for the root itself. */
  sub?: string;
  runId: string;
  team: string;
  status: string;
  startedAt: number;
  endedAt?: number | null;
  tokens: number;
  costUsd: number;
  /** On a cluster node: the node whose run index listed it. */
  node?: string;
}

/** An approval the run waits for. */
interface Approval {
  path: string;
  prompt: string;
  kind: "step" | "budget";
}

interface RunStep {
  id: string;
  node: string;
  member: string | null;
  status: string;
  startedAt?: number | null;
  endedAt?: number | null;
  input?: unknown;
  /** Journals written before step inputs were kept answer "not-recorded". */
  inputState?: "recorded" | "truncated" | "unserializable" | "not-recorded";
  inputChars?: number;
  inputNote?: string;
  output?: unknown;
  error?: unknown;
  tokens?: number;
}

/** Statuses a run can be restarted from (the API refuses the others with a 409). */
const ENDED = new Set(["completed", "failed", "cancelled"]);

/** How a step is named in labels: its path, or its member for the run's root step (path ""). */
function stepName(step: RunStep): string {
  return step.id === "" ? (step.member ?? "the root step") : step.id;
}

/** A step's input: the value, a truncated preview (with its full size), or why there is none. */
function StepInput({ step }: { step: RunStep }) {
  const state = step.inputState ?? "not-recorded";
  if (state === "recorded") return <JsonView value={step.input} label={`Input of ${stepName(step)}`} />;
  if (state === "truncated") {
    return (
      <>
        <p class="muted small">Truncated: {num(step.inputChars ?? 0)} characters of JSON, the start kept.</p>
        <pre class="pre mono small">{String(step.input)}</pre>
      </>
    );
  }
  if (state === "unserializable") return <p class="muted small">Not recorded: JSON cannot encode it ({step.inputNote}).</p>;
  return <p class="muted small">Not recorded.</p>;
}

export const TEAM_RUN_STATUSES = ["running", "waiting", "paused", "completed", "failed", "cancelled"] as const;

/** A link to a run, keeping its owner's sub-agent path. */
export function teamRunHref(run: { class: string; name: string; runId: string; sub?: string }): string {
  return href(["team-runs", run.class, run.name, run.runId], { sub: run.sub || undefined });
}

const FIELDS: FilterField[] = [
  { name: "class", label: "Class" },
  { name: "status", label: "Status", type: "select", options: TEAM_RUN_STATUSES },
];

export function TeamRunsView({ query }: { query: URLSearchParams }) {
  const [cursors, setCursors] = usePageCursors(query.toString());
  const list = useApi<Page<RunRow> & { missingNodes?: string[] }>(withQuery("/api/team-runs", { ...filterValues(FIELDS, query), cursor: cursors.at(-1) }), 3000);
  return (
    <section>
      <h1>Team runs</h1>
      <FilterForm section="team-runs" fields={FIELDS} query={query} />
      <Loaded resource={list}>
        {(data) => (
          <>
            <MissingNodes nodes={data.missingNodes} />
            <Table
              caption="Team runs"
              rows={data.items}
              rowKey={(r) => `${r.class}/${r.name}/${r.runId}`}
              empty="No team runs match."
              columns={[
                { title: "Run", cell: (r) => <a href={teamRunHref(r)}>{r.runId}</a> },
                { title: "Team", cell: (r) => r.team },
                {
                  title: "Owner",
                  cell: (r) => (
                    <a href={href(["agents", r.class, r.name, "children"], { sub: r.sub || undefined })}>
                      {r.class}/{r.name}
                      {r.sub ? ` › ${r.sub}` : ""}
                    </a>
                  ),
                },
                { title: "Status", cell: (r) => <span class={`status status-${r.status}`}>{r.status}</span> },
                { title: "Started", cell: (r) => time(r.startedAt) },
                { title: "Tokens", cell: (r) => num(r.tokens), numeric: true },
                { title: "Cost", cell: (r) => usd(r.costUsd), numeric: true },
                ...(inCluster(data.items) ? [{ title: "Node", cell: (r: RunRow) => <NodeBadge node={r.node} /> }] : []),
              ]}
            />
            <Pager cursors={cursors} next={data.next} onChange={setCursors} />
          </>
        )}
      </Loaded>
    </section>
  );
}

export function TeamRunView({ agentClass, name, runId, sub }: { agentClass: string; name: string; runId: string; sub: string | undefined }) {
  const base = `/api/team-runs/${[agentClass, name, runId].map(encodeURIComponent).join("/")}`;
  const withSub = (path: string) => (sub === undefined || sub === "" ? path : `${path}?sub=${encodeURIComponent(sub)}`);
  const run = useApi<RunRow & { steps: RunStep[]; approvals?: Approval[]; error?: unknown }>(withSub(base), 2000);
  const action = useAction();
  const control = (verb: string, body: Record<string, unknown> = {}) => () =>
    void action.run(() => api(withSub(`${base}/${verb}`), "POST", body), `${verb[0]?.toUpperCase()}${verb.slice(1)} requested.`).then(run.reload);
  // A restart answers the new run's id: the page goes there.
  const restart = () =>
    void action.run(async () => {
      const started = await api<{ runId: string }>(withSub(`${base}/restart`), "POST", {});
      navigate(teamRunHref({ class: agentClass, name, runId: started.runId, ...(sub ? { sub } : {}) }));
    }, "Restarted.");
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
              {data.team} · owned by{" "}
              <a href={href(["agents", data.class, data.name, "children"], { sub: sub || undefined })}>
                {data.class}/{data.name}
              </a>{" "}
              · <span class={`status status-${data.status}`} data-testid="team-run-status">{data.status}</span> · {num(data.tokens)}{" "}
              tokens · {usd(data.costUsd)}
            </p>
            {data.error !== undefined && data.error !== null && <p class="error">{errorText(data.error)}</p>}
            <AdminOnly what="controlling team runs">
              <div class="row">
                <button type="button" onClick={control("pause")}>Pause</button>
                <button type="button" onClick={control("resume")}>Resume</button>
                <button type="button" onClick={control("cancel", { reason: "cancelled from the inspector" })}>Cancel run</button>
                <button
                  type="button"
                  onClick={restart}
                  disabled={action.busy || !ENDED.has(data.status)}
                  title={ENDED.has(data.status) ? "A new run of the same team with the same input" : "Only an ended run can be restarted"}
                >
                  Restart run
                </button>
              </div>
              {(data.approvals ?? []).length > 0 && <p class="muted small">A waiting team run takes one kind of event: an approval (approve or reject it below).</p>}
              {(data.approvals ?? []).map((a) => (
                <div key={a.path} class="card row">
                  <span>
                    Waiting for approval ({a.kind}) at <span class="mono">{a.path}</span>: {a.prompt}
                  </span>
                  <button type="button" onClick={control("approve", { path: a.path })}>Approve</button>
                  <button type="button" onClick={control("reject", { path: a.path, reason: "rejected from the inspector" })}>Reject</button>
                </div>
              ))}
            </AdminOnly>
            <ActionResult error={action.error} message={action.message} />
            <h2>Steps</h2>
            <Timeline
              steps={data.steps.map((s) => ({
                key: s.id,
                label: (
                  <>
                    <span class="mono">{s.id}</span> {s.member !== null && s.member !== undefined && <span class="muted">by {s.member}</span>}
                  </>
                ),
                kind: s.node,
                status: s.status,
                startedAt: s.startedAt,
                endedAt: s.endedAt,
                detail: (
                  <>
                    <p class="muted small">
                      {time(s.startedAt)} → {time(s.endedAt)} ({duration(s.startedAt != null && s.endedAt != null ? s.endedAt - s.startedAt : null)}) ·{" "}
                      {num(s.tokens)} tokens
                    </p>
                    <h3>Input</h3>
                    <StepInput step={s} />
                    {s.output !== undefined && s.output !== null && <><h3>Output</h3><JsonView value={s.output} label={`Output of ${stepName(s)}`} /></>}
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
