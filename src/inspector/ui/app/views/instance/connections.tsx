/** Connections: each WebSocket with tags and state; admins can send a message or close it. */
import { useState } from "preact/hooks";
import { agentPath, api, withQuery, type AgentRef, type Page } from "../../api.ts";
import { AdminOnly } from "../../components/admin.tsx";
import { PagerIfPaged, Table, usePageCursors } from "../../components/table.tsx";
import { ActionResult, Loaded } from "../../components/status.tsx";
import { brief, time } from "../../format.ts";
import { useAction, useApi } from "../../hooks.ts";

interface Connection {
  id: string;
  tags: string[];
  state: unknown;
  connectedAt: number;
  /** The URL the client connected with, its query's values left out (they may be credentials). */
  uri: string | null;
}

export function ConnectionsTab({ agent }: { agent: AgentRef }) {
  const [cursors, setCursors] = usePageCursors(agentPath(agent, "/connections"));
  const list = useApi<Page<Connection>>(withQuery(agentPath(agent, "/connections"), { cursor: cursors.at(-1) }), 5000);
  const action = useAction();
  const [message, setMessage] = useState<Record<string, string>>({});
  const path = (id: string, verb: string) => agentPath(agent, `/connections/${encodeURIComponent(id)}/${verb}`);
  return (
    <>
      <div class="row">
        <h2>Connections</h2>
        <button type="button" onClick={list.reload}>
          Refresh
        </button>
      </div>
      <Loaded resource={list}>
        {(page) => (
          <>
            <Table
              caption="WebSocket connections"
              rows={page.items}
              rowKey={(c) => c.id}
              empty="No open WebSockets."
              columns={[
                { title: "Id", cell: (c) => <span class="mono">{c.id}</span> },
                { title: "Tags", cell: (c) => c.tags.join(", ") || "—" },
                { title: "State", cell: (c) => <span class="mono">{brief(c.state, 60)}</span> },
                { title: "Connected", cell: (c) => time(c.connectedAt) },
                { title: "URI", cell: (c) => <span class="mono">{c.uri ?? "—"}</span> },
                {
                  title: "Actions",
                  cell: (c) => (
                    <AdminOnly what="sending and closing">
                      <form
                        class="row"
                        onSubmit={(e) => {
                          e.preventDefault();
                          void action.run(() => api(path(c.id, "send"), "POST", { message: message[c.id] ?? "" }), "Sent.");
                        }}
                      >
                        <label class="sr-only" for={`send-${c.id}`}>
                          Message to {c.id}
                        </label>
                        <input
                          id={`send-${c.id}`}
                          value={message[c.id] ?? ""}
                          onInput={(e) => setMessage({ ...message, [c.id]: e.currentTarget.value })}
                        />
                        <button type="submit">Send</button>
                        <button
                          type="button"
                          onClick={() =>
                            void action
                              .run(() => api(path(c.id, "close"), "POST", { code: 1000, reason: "closed from the inspector" }), "Closed.")
                              .then(list.reload)
                          }
                        >
                          Close
                        </button>
                      </form>
                    </AdminOnly>
                  ),
                },
              ]}
            />
            <PagerIfPaged cursors={cursors} next={page.next} onChange={setCursors} />
          </>
        )}
      </Loaded>
      <ActionResult error={action.error} message={action.message} />
    </>
  );
}
