/** The SQL console: one statement with optional JSON parameters; writes need admin and the toggle. */
import { useState } from "preact/hooks";
import { agentPath, api, type AgentRef } from "../../api.ts";
import { ActionResult } from "../../components/status.tsx";
import { num } from "../../format.ts";
import { useAction } from "../../hooks.ts";
import { isAdmin } from "../../session.ts";
import { Grid } from "./sql-grid.tsx";

interface QueryResult {
  columns: string[];
  rows: unknown[][];
  rowsAffected: number;
  truncated: boolean;
}

export function SqlConsole({ agent }: { agent: AgentRef }) {
  const [sql, setSql] = useState("select name, type from sqlite_schema");
  const [params, setParams] = useState("");
  const [write, setWrite] = useState(false);
  const [result, setResult] = useState<QueryResult | undefined>(undefined);
  const action = useAction();
  const admin = isAdmin();
  async function submit(event: Event) {
    event.preventDefault();
    setResult(undefined);
    await action.run(async () => {
      const body: { sql: string; params?: unknown; write?: boolean } = { sql };
      if (params.trim() !== "") {
        try {
          body.params = JSON.parse(params);
        } catch {
          throw new Error("Parameters must be JSON: an array for ? or an object for :named.");
        }
      }
      if (write && admin) body.write = true;
      setResult(await api<QueryResult>(agentPath(agent, "/sql/query"), "POST", body));
    });
  }
  return (
    <form class="console" onSubmit={submit}>
      <h2>Query</h2>
      <label for="sql-input">SQL (one statement)</label>
      <textarea
        id="sql-input"
        class="code"
        rows={4}
        spellcheck={false}
        value={sql}
        onInput={(e) => setSql(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) e.currentTarget.form?.requestSubmit();
        }}
      />
      <label for="sql-params">Parameters (JSON, optional)</label>
      <input id="sql-params" class="code" value={params} placeholder='[1, "a"] or {"id": 1}' onInput={(e) => setParams(e.currentTarget.value)} />
      <div class="row">
        <button type="submit" class="primary" disabled={action.busy}>
          Run query
        </button>
        {admin ? (
          <label class="inline">
            <input type="checkbox" checked={write} onChange={(e) => setWrite(e.currentTarget.checked)} /> Allow writes (one
            transaction, audited)
          </label>
        ) : (
          <span class="muted small">Read-only: writes need the admin token.</span>
        )}
      </div>
      <ActionResult error={action.error} message={action.message} />
      {result !== undefined && (
        <div data-testid="query-result">
          <p class="muted" role="status">
            {num(result.rows.length)} rows{result.rowsAffected > 0 ? `, ${num(result.rowsAffected)} changed` : ""}
            {result.truncated ? " (truncated)" : ""}
          </p>
          <Grid caption="Query result" columns={result.columns} rows={result.rows} />
        </div>
      )}
    </form>
  );
}
