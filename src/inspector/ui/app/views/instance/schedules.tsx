/**
 * Schedules and the queue: what will run when, and why a queued item is still there (failed attempts,
 * its last error, the crash-loop breaker); admins run a schedule or a queued item now, or cancel them.
 */
import { agentPath, api, withQuery, type AgentRef, type Page } from "../../api.ts";
import { AdminOnly } from "../../components/admin.tsx";
import { PagerIfPaged, Table, usePageCursors } from "../../components/table.tsx";
import { ActionResult, Loaded } from "../../components/status.tsx";
import { brief, time } from "../../format.ts";
import { useAction, useApi } from "../../hooks.ts";

interface Schedule {
  id: string;
  callback: string;
  type: "scheduled" | "delayed" | "cron" | "interval";
  time: number;
  cron?: string;
  payload: unknown;
  nextRuns: number[];
}

interface QueueItem {
  id: string;
  callback: string;
  payload: unknown;
  createdAt: number;
  attempts: number;
  /** When it may run next (ms): later than now while a failed attempt's backoff runs. */
  dueAt: number;
  lastError?: string;
  tripped?: { crashes: number; at: number };
}

/** Why a queued item is still there: stopped by the breaker, or its last failure (waiting out a backoff). */
function QueueProblem({ item }: { item: QueueItem }) {
  if (item.tripped)
    return (
      <span title={item.lastError}>
        <strong>Stopped by the breaker</strong> after {item.tripped.crashes} unfinished runs ({time(item.tripped.at)})
      </span>
    );
  if (item.lastError === undefined) return <span class="muted">—</span>;
  return <span class="error-text" title={item.lastError}>{brief(item.lastError, 80)}</span>;
}

export function SchedulesTab({ agent }: { agent: AgentRef }) {
  const [scheduleCursors, setScheduleCursors] = usePageCursors(agentPath(agent, "/schedules"));
  const [queueCursors, setQueueCursors] = usePageCursors(agentPath(agent, "/queue"));
  const schedules = useApi<Page<Schedule>>(withQuery(agentPath(agent, "/schedules"), { cursor: scheduleCursors.at(-1) }), 5000);
  const queue = useApi<Page<QueueItem>>(withQuery(agentPath(agent, "/queue"), { cursor: queueCursors.at(-1) }), 5000);
  const action = useAction();
  const schedulePath = (id: string, rest = "") => agentPath(agent, `/schedules/${encodeURIComponent(id)}${rest}`);
  const queuePath = (id: string, rest = "") => agentPath(agent, `/queue/${encodeURIComponent(id)}${rest}`);
  return (
    <>
      <h2>Schedules</h2>
      <Loaded resource={schedules}>
        {(page) => (
          <>
            <Table
              caption="Schedules"
              rows={page.items}
              rowKey={(s) => s.id}
              empty="No schedules."
              columns={[
                { title: "Id", cell: (s) => <span class="mono">{s.id}</span> },
                { title: "Callback", cell: (s) => <span class="mono">{s.callback}</span> },
                { title: "Type", cell: (s) => (s.cron === undefined ? s.type : `${s.type} (${s.cron})`) },
                { title: "Next", cell: (s) => time(s.nextRuns[0] ?? s.time) },
                { title: "Payload", cell: (s) => <span class="mono">{brief(s.payload, 60)}</span> },
                {
                  title: "Actions",
                  cell: (s) => (
                    <AdminOnly what="running and cancelling">
                      <span class="row">
                        <button
                          type="button"
                          onClick={() =>
                            void action.run(() => api(schedulePath(s.id, "/run"), "POST"), `Ran ${s.callback}.`).then(schedules.reload)
                          }
                        >
                          Run now
                        </button>
                        <button
                          type="button"
                          aria-label={`Cancel schedule ${s.id}`}
                          onClick={() =>
                            void action.run(() => api(schedulePath(s.id), "DELETE"), `Cancelled ${s.id}.`).then(schedules.reload)
                          }
                        >
                          Cancel
                        </button>
                      </span>
                    </AdminOnly>
                  ),
                },
              ]}
            />
            <PagerIfPaged cursors={scheduleCursors} next={page.next} onChange={setScheduleCursors} label="Pages of schedules" />
          </>
        )}
      </Loaded>
      <ActionResult error={action.error} message={action.message} />
      <h2>Queue</h2>
      <Loaded resource={queue}>
        {(page) => (
          <>
            <Table
              caption="Queued callbacks"
              rows={page.items}
              rowKey={(q) => q.id}
              empty="The queue is empty."
              columns={[
                { title: "Id", cell: (q) => <span class="mono">{q.id}</span> },
                { title: "Callback", cell: (q) => <span class="mono">{q.callback}</span> },
                { title: "Payload", cell: (q) => <span class="mono">{brief(q.payload, 60)}</span> },
                { title: "Queued", cell: (q) => time(q.createdAt) },
                { title: "Attempts", cell: (q) => String(q.attempts) },
                { title: "Next attempt", cell: (q) => (q.tripped ? <span class="muted">stopped</span> : q.dueAt > Date.now() ? time(q.dueAt) : "in line") },
                { title: "Last error", cell: (q) => <QueueProblem item={q} /> },
                {
                  title: "Actions",
                  cell: (q) => (
                    <AdminOnly what="running and removing">
                      <span class="row">
                        {/* The agent's dispatcher runs it (as its next attempt): the row goes once it has succeeded. */}
                        <button
                          type="button"
                          aria-label={`Run queued ${q.id} now`}
                          onClick={() => void action.run(() => api(queuePath(q.id, "/run"), "POST"), `Moved ${q.id} to the head of the queue: it runs now.`).then(queue.reload)}
                        >
                          Run now
                        </button>
                        <button
                          type="button"
                          aria-label={`Remove queued ${q.id}`}
                          onClick={() => void action.run(() => api(queuePath(q.id), "DELETE"), `Removed ${q.id}.`).then(queue.reload)}
                        >
                          Remove
                        </button>
                      </span>
                    </AdminOnly>
                  ),
                },
              ]}
            />
            <PagerIfPaged cursors={queueCursors} next={page.next} onChange={setQueueCursors} label="Pages of the queue" />
          </>
        )}
      </Loaded>
    </>
  );
}
