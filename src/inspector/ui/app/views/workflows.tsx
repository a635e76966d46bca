/** Workflows: instances with filters, and starting a new one. */
import { useState } from "preact/hooks";
import { api, withQuery, type Page } from "../api.ts";
import { AdminOnly } from "../components/admin.tsx";
import { FilterForm, filterValues, type FilterField } from "../components/filters.tsx";
import { Pager, Table, usePageCursors } from "../components/table.tsx";
import { ActionResult, Loaded } from "../components/status.tsx";
import { ago, time, parseJsonInput } from "../format.ts";
import { useAction, useApi } from "../hooks.ts";
import { href, navigate } from "../router.ts";

export const WORKFLOW_STATUSES = ["queued", "running", "paused", "waiting", "complete", "errored", "terminated"] as const;

interface WorkflowRow {
  workflow: string;
  id: string;
  status: string;
  createdAt: number;
  updatedAt: number;
  error?: string | { message?: string };
}

const FIELDS: FilterField[] = [
  { name: "workflow", label: "Workflow" },
  { name: "status", label: "Status", type: "select", options: WORKFLOW_STATUSES },
  { name: "q", label: "Id or params" },
];

export function errorText(error: WorkflowRow["error"] | unknown): string {
  if (error === undefined || error === null) return "";
  if (typeof error === "string") return error;
  if (typeof error === "object" && "message" in error) return String((error as { message: unknown }).message);
  return JSON.stringify(error);
}

export function WorkflowsView({ query }: { query: URLSearchParams }) {
  const [cursors, setCursors] = usePageCursors(query.toString());
  const list = useApi<Page<WorkflowRow>>(
    withQuery("/api/workflows", { ...filterValues(FIELDS, query), cursor: cursors.at(-1) }),
    3000,
  );
  return (
    <section>
      <h1>Workflows</h1>
      <FilterForm section="workflows" fields={FIELDS} query={query} />
      <Loaded resource={list}>
        {(data) => (
          <>
            <Table
              caption="Workflow instances"
              rows={data.items}
              rowKey={(w) => `${w.workflow}/${w.id}`}
              empty="No workflow instances match."
              columns={[
                { title: "Workflow", cell: (w) => w.workflow },
                { title: "Instance", cell: (w) => <a href={href(["workflows", w.workflow, w.id])}>{w.id}</a> },
                { title: "Status", cell: (w) => <span class={`status status-${w.status}`}>{w.status}</span> },
                { title: "Created", cell: (w) => time(w.createdAt) },
                { title: "Updated", cell: (w) => ago(w.updatedAt) },
                { title: "Error", cell: (w) => <span class="error-text">{errorText(w.error)}</span> },
              ]}
            />
            <Pager cursors={cursors} next={data.next} onChange={setCursors} />
          </>
        )}
      </Loaded>
      <StartWorkflow initial={query.get("workflow") ?? ""} />
    </section>
  );
}

function StartWorkflow({ initial }: { initial: string }) {
  const [workflow, setWorkflow] = useState(initial);
  const [id, setId] = useState("");
  const [params, setParams] = useState("{}");
  const action = useAction();
  async function submit(event: Event) {
    event.preventDefault();
    await action.run(async () => {
      const parsed = parseJsonInput(params, "Params must be JSON.");
      const body = id.trim() === "" ? { params: parsed } : { id: id.trim(), params: parsed };
      const started = await api<{ id: string }>(`/api/workflows/${encodeURIComponent(workflow.trim())}`, "POST", body);
      navigate(href(["workflows", workflow.trim(), started.id]));
    });
  }
  return (
    <details class="card">
      <summary>Start a workflow</summary>
      <AdminOnly what="starting a workflow">
        <form onSubmit={submit}>
          <label for="start-workflow">Workflow (binding name)</label>
          <input id="start-workflow" value={workflow} onInput={(e) => setWorkflow(e.currentTarget.value)} />
          <label for="start-id">Instance id (optional)</label>
          <input id="start-id" value={id} onInput={(e) => setId(e.currentTarget.value)} />
          <label for="start-params">Params (JSON)</label>
          <textarea id="start-params" class="code" rows={4} value={params} onInput={(e) => setParams(e.currentTarget.value)} />
          <button type="submit" class="primary" disabled={action.busy || workflow.trim() === ""}>
            Start
          </button>
          <ActionResult error={action.error} message={action.message} />
        </form>
      </AdminOnly>
    </details>
  );
}
