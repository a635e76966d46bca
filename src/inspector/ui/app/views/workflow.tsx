/** One workflow instance: its steps on a timeline, refreshed while it runs, and its controls. */
import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { AdminOnly } from "../components/admin.tsx";
import { JsonView } from "../components/json-view.tsx";
import { Timeline } from "../components/timeline.tsx";
import { ActionResult, Loaded } from "../components/status.tsx";
import { duration, time, parseJsonInput } from "../format.ts";
import { useAction, useApi } from "../hooks.ts";
import { href } from "../router.ts";
import { errorText } from "./workflows.tsx";

interface Step {
  name: string;
  kind: "do" | "sleep" | "waitForEvent";
  status: string;
  attempts: number;
  startedAt?: number | null;
  endedAt?: number | null;
  input?: unknown;
  output?: unknown;
  error?: unknown;
  /** While a waitForEvent step waits: the event type it waits for (not the step's name). */
  waitingFor?: string;
  /** When a sleep (or a retry's backoff, or an event's timeout) ends. */
  wakeAt?: number | null;
}

interface WorkflowDetail {
  workflow: string;
  id: string;
  status: string;
  params: unknown;
  output?: unknown;
  error?: unknown;
  createdAt?: number;
  updatedAt?: number;
  /** The agent that started it, when one did. */
  agent?: { class: string; name: string };
  steps: Step[];
}

/** How often an unfinished instance is re-read. */
const LIVE_REFRESH_MS = 1000;
const FINISHED = new Set(["complete", "errored", "terminated"]);

export function WorkflowView({ workflow, id }: { workflow: string; id: string }) {
  const base = `/api/workflows/${encodeURIComponent(workflow)}/${encodeURIComponent(id)}`;
  const [settled, setSettled] = useState(false);
  const detail = useApi<WorkflowDetail>(base, settled ? undefined : LIVE_REFRESH_MS);
  const action = useAction();
  const status = detail.data?.status;
  if (status !== undefined && FINISHED.has(status) !== settled) setSettled(FINISHED.has(status));
  // The event type the waiting step awaits: the send-event form is filled in anew when it changes.
  const awaited = detail.data?.steps.find((s) => s.waitingFor !== undefined)?.waitingFor;
  const control = (verb: string) => () =>
    void action.run(() => api(`${base}/${verb}`, "POST"), `${verb[0]?.toUpperCase()}${verb.slice(1)} requested.`).then(detail.reload);
  return (
    <section>
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href={href(["workflows"])}>Workflows</a> › <a href={href(["workflows"], { workflow })}>{workflow}</a> ›{" "}
        <span aria-current="page">{id}</span>
      </nav>
      <h1>
        {workflow} / {id}
      </h1>
      <Loaded resource={detail}>
        {(data) => (
          <>
            <p>
              Status: <span class={`status status-${data.status}`} data-testid="workflow-status">{data.status}</span>
              {!FINISHED.has(data.status) && <span class="muted small"> (refreshing live)</span>}
              {" "}· created {time(data.createdAt)} · updated {time(data.updatedAt)}
              {data.agent !== undefined && (
                <>
                  {" "}· started by{" "}
                  <a href={href(["agents", data.agent.class, data.agent.name])}>
                    {data.agent.class}/{data.agent.name}
                  </a>
                </>
              )}
            </p>
            {data.error !== undefined && data.error !== null && <p class="error">{errorText(data.error)}</p>}
            <AdminOnly what="controlling workflows">
              <div class="row">
                <button type="button" onClick={control("pause")}>Pause</button>
                <button type="button" onClick={control("resume")}>Resume</button>
                <button type="button" onClick={control("terminate")}>Terminate</button>
                <button type="button" onClick={control("restart")}>Restart</button>
              </div>
              <SendEvent key={awaited ?? ""} base={base} awaited={awaited} />
            </AdminOnly>
            <ActionResult error={action.error} message={action.message} />
            <h2>Steps</h2>
            <Timeline
              steps={data.steps.map((s, i) => ({
                key: `${i}-${s.name}`,
                label: <span class="mono">{s.name}</span>,
                kind: s.kind,
                status: s.status,
                startedAt: s.startedAt,
                endedAt: s.endedAt,
                attempts: s.attempts,
                detail: (
                  <>
                    <p class="muted small">
                      {time(s.startedAt)} → {time(s.endedAt)} ({duration(s.startedAt != null && s.endedAt != null ? s.endedAt - s.startedAt : null)})
                      {s.waitingFor !== undefined && <> · waiting for an event of type “{s.waitingFor}”</>}
                      {s.wakeAt != null && <> · wakes {time(s.wakeAt)}</>}
                    </p>
                    {s.input !== undefined && <><h3>Input</h3><JsonView value={s.input} label={`Input of ${s.name}`} /></>}
                    {s.output !== undefined && <><h3>Output</h3><JsonView value={s.output} label={`Output of ${s.name}`} /></>}
                    {s.error !== undefined && s.error !== null && <p class="error">{errorText(s.error)}</p>}
                  </>
                ),
              }))}
            />
            <h2>Params</h2>
            <JsonView value={data.params} label="Params" />
            {data.output !== undefined && (
              <>
                <h2>Output</h2>
                <JsonView value={data.output} label="Output" />
              </>
            )}
          </>
        )}
      </Loaded>
    </section>
  );
}

/**
 * The send-event form, its type filled in with the one the waiting step awaits (keyed by it, so it is
 * filled in anew when the instance comes to wait for another, or starts waiting after the page opened).
 */
function SendEvent({ base, awaited }: { base: string; awaited: string | undefined }) {
  const [type, setType] = useState(awaited ?? "");
  const [payload, setPayload] = useState("{}");
  const action = useAction();
  async function submit(event: Event) {
    event.preventDefault();
    await action.run(async () => {
      const parsed = parseJsonInput(payload, "The payload must be JSON.");
      await api(`${base}/event`, "POST", { type: type.trim(), payload: parsed });
    }, "Event sent.");
  }
  return (
    <form class="row" onSubmit={submit} aria-label="Send an event">
      <label for="event-type">Event type</label>
      <input id="event-type" value={type} onInput={(e) => setType(e.currentTarget.value)} />
      <label for="event-payload">Payload (JSON)</label>
      <input id="event-payload" class="code" value={payload} onInput={(e) => setPayload(e.currentTarget.value)} />
      <button type="submit" disabled={action.busy || type.trim() === ""}>
        Send event
      </button>
      <ActionResult error={action.error} message={action.message} />
    </form>
  );
}
