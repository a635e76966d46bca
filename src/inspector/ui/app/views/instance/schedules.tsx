/** Schedules and the queue: what will run when; admins run a schedule now or cancel it. */
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
}

export function SchedulesTab({ agent }: { agent: AgentRef }) {
  const [scheduleCursors, setScheduleCursors] = usePageCursors(agentPath(agent, "/schedules"));
  const [queueCursors, setQueueCursors] = usePageCursors(agentPath(agent, "/queue"));
  const schedules = useApi<Page<Schedule>>(withQuery(agentPath(agent, "/schedules"), { cursor: scheduleCursors.at(-1) }), 5000);
  const queue = useApi<Page<QueueItem>>(withQuery(agentPath(agent, "/queue"), { cursor: queueCursors.at(-1) }), 5000);
  const action = useAction();
  const schedulePath = (id: string, rest = "") => agentPath(agent, `/schedules/${encodeURIComponent(id)}${rest}`);
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
                {
                  title: "Actions",
                  cell: (q) => (
                    <AdminOnly what="removing">
                      <button
                        type="button"
                        aria-label={`Remove queued ${q.id}`}
                        onClick={() =>
                          void action
                            .run(() => api(agentPath(agent, `/queue/${encodeURIComponent(q.id)}`), "DELETE"), `Removed ${q.id}.`)
                            .then(queue.reload)
                        }
                      >
                        Remove
                      </button>
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
