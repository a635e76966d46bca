/** SQL: schema tree, a paged grid of one table, and a console (read-only unless unlocked). */
import { useState } from "preact/hooks";
import { agentPath, withQuery, type AgentRef } from "../../api.ts";
import { Pager } from "../../components/table.tsx";
import { Loaded } from "../../components/status.tsx";
import { num } from "../../format.ts";
import { useApi } from "../../hooks.ts";
import { route } from "../../router.ts";
import { instanceHref } from "./href.ts";
import { SqlConsole } from "./sql-console.tsx";
import { Grid } from "./sql-grid.tsx";

interface Column {
  name: string;
  type: string;
  pk: boolean | number;
  notnull: boolean | number;
}

interface TableInfo {
  name: string;
  kind: "table" | "view";
  framework: boolean;
  rows: number;
  columns: Column[];
  indexes: unknown[];
}

/** Rows per page of the table grid. */
const PAGE_ROWS = 100;

export function SqlTab({ agent }: { agent: AgentRef }) {
  const schema = useApi<{ tables: TableInfo[] }>(agentPath(agent, "/sql/schema"));
  const table = route.value.query.get("table") ?? undefined;
  return (
    <div class="split">
      <div class="split-side">
        <h2>Schema</h2>
        <Loaded resource={schema}>
          {(data) => (
            <>
              <SchemaGroup agent={agent} title="Tables" tables={data.tables.filter((t) => !t.framework)} current={table} />
              <SchemaGroup
                agent={agent}
                title="Framework tables"
                tables={data.tables.filter((t) => t.framework)}
                current={table}
              />
            </>
          )}
        </Loaded>
      </div>
      <div class="split-main">
        {table !== undefined && <TableRows key={table} agent={agent} table={table} />}
        <SqlConsole agent={agent} />
      </div>
    </div>
  );
}

function SchemaGroup({
  agent,
  title,
  tables,
  current,
}: {
  agent: AgentRef;
  title: string;
  tables: TableInfo[];
  current: string | undefined;
}) {
  return (
    <>
      <h3>{title}</h3>
      {tables.length === 0 ? (
        <p class="muted small">None.</p>
      ) : (
        <ul class="tree">
          {tables.map((t) => (
            <li key={t.name}>
              <a href={instanceHref(agent, "sql", { table: t.name })} aria-current={t.name === current ? "page" : undefined}>
                {t.name}
              </a>{" "}
              <span class="muted small">{t.kind === "view" ? "view" : `${num(t.rows)} rows`}</span>
              {t.name === current && (
                <ul aria-label={`Columns of ${t.name}`}>
                  {t.columns.map((c) => (
                    <li key={c.name}>
                      {c.name}{" "}
                      <span class="muted small">
                        {c.type || "any"}
                        {c.pk ? " · primary key" : ""}
                        {c.notnull ? " · not null" : ""}
                      </span>
                    </li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function TableRows({ agent, table }: { agent: AgentRef; table: string }) {
  const [cursors, setCursors] = useState<string[]>([]);
  const page = useApi<{ columns: string[]; rows: unknown[][]; next: string | null }>(
    withQuery(agentPath(agent, `/sql/tables/${encodeURIComponent(table)}`), { cursor: cursors.at(-1), limit: PAGE_ROWS }),
  );
  return (
    <>
      <h2>{table}</h2>
      <Loaded resource={page}>
        {(data) => (
          <>
            <Grid caption={`Rows of ${table}`} columns={data.columns} rows={data.rows} />
            <Pager cursors={cursors} next={data.next} onChange={setCursors} />
          </>
        )}
      </Loaded>
    </>
  );
}
