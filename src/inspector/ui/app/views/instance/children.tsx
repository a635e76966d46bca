/** Sub-agents and facets of an instance, and the team runs it owns. */
import type { RunRow } from "../team-runs.tsx";
import { useState } from "preact/hooks";
import { agentPath, api, childSub, withQuery, type AgentRef, type Page } from "../../api.ts";
import { AdminOnly } from "../../components/admin.tsx";
import { ActionResult } from "../../components/status.tsx";
import { useAction } from "../../hooks.ts";
import { navigate } from "../../router.ts";
import { Pager, Table } from "../../components/table.tsx";
import { Loaded } from "../../components/status.tsx";
import { num, time, usd, parseJsonInput } from "../../format.ts";
import { useApi } from "../../hooks.ts";
import { teamRunHref } from "../team-runs.tsx";
import { instanceHref } from "./href.ts";

interface Children {
  subAgents: { class: string; name: string }[];
  facets: { name: string; class: string }[];
}

/** A child of `parent`: the same root, one more step on its `sub` path. */
function childRef(parent: AgentRef, child: { class: string; name: string }): AgentRef {
  return { class: parent.class, name: parent.name, sub: childSub(parent, child) };
}

export function ChildrenTab({ agent, teamRuns }: { agent: AgentRef; teamRuns: boolean }) {
  const children = useApi<Children>(agentPath(agent, "/children"));
  return (
    <>
      <h2>Sub-agents</h2>
      <Loaded resource={children}>
        {(data) => (
          <>
            {data.subAgents.length === 0 ? (
              <p class="muted">No sub-agents.</p>
            ) : (
              <ul class="list">
                {data.subAgents.map((s) => (
                  <li key={`${s.class}/${s.name}`}>
                    <a href={instanceHref(childRef(agent, s), "state")}>
                      {s.class}/{s.name}
                    </a>
                  </li>
                ))}
              </ul>
            )}
            <h2>Facets</h2>
            {data.facets.length === 0 ? (
              <p class="muted">No facets.</p>
            ) : (
              <ul class="list">
                {data.facets.map((f) => (
                  <li key={f.name}>
                    {f.name} <span class="muted">({f.class})</span>
                  </li>
                ))}
              </ul>
            )}
          </>
        )}
      </Loaded>
      {teamRuns && (
        <>
          <h2>Team runs</h2>
          <OwnedTeamRuns agent={agent} />
          <AdminOnly what="starting a team run">
            <StartTeamRun agent={agent} />
          </AdminOnly>
        </>
      )}
    </>
  );
}

/** The team runs this agent owns, newest first, a page at a time. */
function OwnedTeamRuns({ agent }: { agent: AgentRef }) {
  const [cursors, setCursors] = useState<string[]>([]);
  const runs = useApi<Page<RunRow>>(withQuery(agentPath(agent, "/team-runs"), { cursor: cursors.at(-1) }));
  return (
    <Loaded resource={runs}>
      {(data) => (
        <>
          <Table
            caption="Team runs of this agent"
            rows={data.items}
            rowKey={(r) => r.runId}
            empty="No team runs."
            columns={[
              { title: "Run", cell: (r) => <a href={teamRunHref(r)}>{r.runId}</a> },
              { title: "Team", cell: (r) => r.team },
              { title: "Status", cell: (r) => r.status },
              { title: "Started", cell: (r) => time(r.startedAt) },
              { title: "Tokens", cell: (r) => num(r.tokens), numeric: true },
              { title: "Cost", cell: (r) => usd(r.costUsd), numeric: true },
            ]}
          />
          <Pager cursors={cursors} next={data.next} onChange={setCursors} />
        </>
      )}
    </Loaded>
  );
}

/** Starts a run of a team defined in this process, owned by this agent; then opens it. */
function StartTeamRun({ agent }: { agent: AgentRef }) {
  const [team, setTeam] = useState("");
  const [input, setInput] = useState('""');
  const action = useAction();
  async function submit(event: Event) {
    event.preventDefault();
    await action.run(async () => {
      const parsed = parseJsonInput(input, "The input must be JSON.");
      // POST /api/team-runs/:class/:name (?sub= for a sub-agent owner): the agent path under another prefix.
      const path = agentPath(agent).replace("/api/agents/", "/api/team-runs/");
      const started = await api<{ runId: string }>(path, "POST", { team: team.trim(), input: parsed });
      navigate(teamRunHref({ class: agent.class, name: agent.name, runId: started.runId, sub: agent.sub }));
    });
  }
  return (
    <details class="card">
      <summary>Start a team run</summary>
      <form onSubmit={submit}>
        <label for="team-name">Team (its name)</label>
        <input id="team-name" value={team} onInput={(e) => setTeam(e.currentTarget.value)} />
        <label for="team-input">Input (JSON)</label>
        <textarea id="team-input" class="code" rows={3} value={input} onInput={(e) => setInput(e.currentTarget.value)} />
        <button type="submit" class="primary" disabled={action.busy || team.trim() === ""}>
          Start run
        </button>
        <ActionResult error={action.error} message={action.message} />
      </form>
    </details>
  );
}
