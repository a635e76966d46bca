/** Agents: classes, then a class's instances with a name search. */
import { useState } from "preact/hooks";
import { withQuery, type Page } from "../api.ts";
import { Pager, Table, usePageCursors } from "../components/table.tsx";
import { Loaded } from "../components/status.tsx";
import { inCluster, MissingNodes, NodeBadge } from "../components/cluster.tsx";
import { ago, bytes, num, time } from "../format.ts";
import { useApi } from "../hooks.ts";
import { href, navigate } from "../router.ts";

interface ClassRow {
  class: string;
  binding: string;
  kind: "agent" | "durable-object";
  live: number;
  hibernated: number;
  total: number;
  sockets: number;
}

interface InstanceRow {
  class: string;
  name: string;
  live: boolean;
  sockets: number;
  lastActiveAt: number | null;
  sizeBytes: number | null;
  nextAlarmAt: number | null;
  /** On a cluster node: the node holding it (null: none, asleep in the cluster's log). */
  node?: string | null;
}

export function AgentsView({ agentClass, query }: { agentClass: string | undefined; query: URLSearchParams }) {
  const classes = useApi<ClassRow[]>("/api/classes");
  return (
    <section>
      <h1>Agents</h1>
      <div class="split">
        <div class="split-side">
          <h2>Classes</h2>
          <Loaded resource={classes}>
            {(rows) =>
              rows.length === 0 ? (
                <p class="muted">No agent classes.</p>
              ) : (
                <ul class="list">
                  {rows.map((row) => (
                    <li key={row.class}>
                      <a href={href(["agents", row.class])} aria-current={row.class === agentClass ? "page" : undefined}>
                        {row.class}
                      </a>{" "}
                      <span class="muted small">
                        {num(row.live)} live / {num(row.total)}
                        {row.kind === "durable-object" ? " · Durable Object" : ""}
                      </span>
                    </li>
                  ))}
                </ul>
              )
            }
          </Loaded>
        </div>
        <div class="split-main">
          {agentClass === undefined ? (
            <p class="muted">Choose a class to see its instances.</p>
          ) : (
            <Instances key={agentClass} agentClass={agentClass} q={query.get("q") ?? ""} />
          )}
        </div>
      </div>
    </section>
  );
}

function Instances({ agentClass, q }: { agentClass: string; q: string }) {
  const [cursors, setCursors] = usePageCursors(q);
  const [search, setSearch] = useState(q);
  const page = useApi<Page<InstanceRow> & { missingNodes?: string[] }>(
    withQuery("/api/agents", { class: agentClass, q, cursor: cursors.at(-1), limit: 50 }),
  );
  function submit(event: Event) {
    event.preventDefault();
    navigate(href(["agents", agentClass], { q: search.trim() }), true);
  }
  return (
    <>
      <h2>{agentClass}</h2>
      <form class="row" role="search" onSubmit={submit}>
        <label for="agent-search">Search names</label>
        <input
          id="agent-search"
          type="search"
          value={search}
          placeholder="prefix or part of a name"
          onInput={(e) => setSearch(e.currentTarget.value)}
        />
        <button type="submit">Search</button>
      </form>
      <OpenByName agentClass={agentClass} />
      <Loaded resource={page}>
        {(data) => (
          <>
            <MissingNodes nodes={data.missingNodes} />
            <Table
              caption={`Instances of ${agentClass}`}
              rows={data.items}
              rowKey={(row) => row.name}
              empty={q === "" ? "No instances yet." : `No instance matches “${q}”.`}
              columns={[
                { title: "Name", cell: (row) => <a href={href(["agents", row.class, row.name])}>{row.name}</a> },
                { title: "Status", cell: (row) => (row.live ? "live" : "hibernated") },
                { title: "WebSockets", cell: (row) => num(row.sockets), numeric: true },
                { title: "Last active", cell: (row) => ago(row.lastActiveAt) },
                { title: "Size", cell: (row) => bytes(row.sizeBytes), numeric: true },
                { title: "Next alarm", cell: (row) => time(row.nextAlarmAt) },
                ...(inCluster(data.items) ? [{ title: "Node", cell: (row: InstanceRow) => <NodeBadge node={row.node} /> }] : []),
              ]}
            />
            <Pager cursors={cursors} next={data.next} onChange={setCursors} />
          </>
        )}
      </Loaded>
    </>
  );
}

/** Goes straight to an instance by its exact name (works without the instance list, and for names not yet created). */
function OpenByName({ agentClass }: { agentClass: string }) {
  const [name, setName] = useState("");
  return (
    <form
      class="row"
      aria-label="Open an instance"
      onSubmit={(event) => {
        event.preventDefault();
        if (name !== "") navigate(href(["agents", agentClass, name]));
      }}
    >
      <label for="open-instance">Open by exact name</label>
      <input id="open-instance" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <button type="submit" disabled={name === ""}>
        Open
      </button>
    </form>
  );
}
