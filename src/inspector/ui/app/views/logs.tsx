/** Logs: search the kept logs, or tail them live. Each line links to its agent and trace. */
import { useMemo, useState } from "preact/hooks";
import { LEVEL_NAMES, LEVEL_VALUES } from "../../../../observability/logs/levels.ts";
import type { LogEntry } from "../../../../observability/store/log-entry.ts";
import { compileFilter, matches, type CompiledFilter } from "../../../../observability/store/log-query.ts";
import { withQuery, type Page } from "../api.ts";
import { FilterForm, filterValues, type FilterField } from "../components/filters.tsx";
import { Pager } from "../components/table.tsx";
import { ErrorNote, Loaded } from "../components/status.tsx";
import { MissingNodes, NodeBadge } from "../components/cluster.tsx";
import { time } from "../format.ts";
import { useApi } from "../hooks.ts";
import { href } from "../router.ts";
import { useStream } from "../stream.ts";

export interface LogRecord {
  time: number | string;
  level: string | number;
  msg: string;
  class?: string;
  agent?: string;
  requestId?: string;
  traceId?: string;
  spanId?: string;
  [key: string]: unknown;
}

const FIELDS: FilterField[] = [
  { name: "level", label: "Level", type: "select", options: ["trace", "debug", "info", "warn", "error", "fatal"] },
  { name: "class", label: "Class" },
  { name: "agent", label: "Instance" },
  { name: "traceId", label: "Trace id" },
  { name: "q", label: "Text" },
];

/** The name of pino's numeric level (an unknown number as itself). */
function levelName(level: string | number): string {
  return typeof level === "number" ? (LEVEL_NAMES.find((name) => LEVEL_VALUES[name] === level) ?? String(level)) : level;
}

const SHOWN = new Set(["id", "time", "level", "msg", "class", "agent", "requestId", "traceId", "spanId", "node"]);

export function LogLine({ record }: { record: LogRecord }) {
  const extra = Object.entries(record).filter(([k]) => !SHOWN.has(k));
  const level = levelName(record.level);
  return (
    <li class={`mono level-${level}`}>
      <span class="muted">{typeof record.time === "number" ? time(record.time) : record.time}</span>{" "}
      <span class="level">{level}</span>{" "}
      {typeof record.node === "string" && (
        <>
          <NodeBadge node={record.node} />{" "}
        </>
      )}
      {record.class !== undefined && record.agent !== undefined && (
        <>
          <a href={href(["agents", record.class, record.agent])}>
            {record.class}/{record.agent}
          </a>{" "}
        </>
      )}
      <span>{record.msg}</span>
      {extra.length > 0 && <span class="muted"> {JSON.stringify(Object.fromEntries(extra))}</span>}
      {record.traceId !== undefined && (
        <>
          {" "}
          <a href={href(["traces", record.traceId], { span: record.spanId })}>trace</a>
        </>
      )}
    </li>
  );
}

export function LogsView({ query }: { query: URLSearchParams }) {
  const [live, setLive] = useState(query.get("live") === "true");
  return (
    <section>
      <div class="row">
        <h1>Logs</h1>
        <button type="button" aria-pressed={live} onClick={() => setLive(!live)}>
          {live ? "Stop live tail" : "Live tail"}
        </button>
      </div>
      <FilterForm section="logs" fields={FIELDS} query={query} />
      {live ? <LiveLogs query={query} /> : <SearchedLogs key={query.toString()} query={query} />}
    </section>
  );
}

function SearchedLogs({ query }: { query: URLSearchParams }) {
  const [cursors, setCursors] = useState<string[]>([]);
  const page = useApi<Page<LogRecord> & { missingNodes?: string[] }>(
    withQuery("/api/logs", { ...filterValues(FIELDS, query), cursor: cursors.at(-1), limit: 100 }),
  );
  return (
    <Loaded resource={page}>
      {(data) => (
        <>
          <MissingNodes nodes={data.missingNodes} />
          {data.items.length === 0 && <p class="muted">No log lines match.</p>}
          <ol class="log">
            {data.items.map((r, i) => (
              <LogLine key={i} record={r} />
            ))}
          </ol>
          <Pager cursors={cursors} next={data.next} onChange={setCursors} />
        </>
      )}
    </Loaded>
  );
}

function LiveLogs({ query }: { query: URLSearchParams }) {
  const filter = filterValues(FIELDS, query);
  const { messages, connected } = useStream(["logs"], { class: filter["class"], agent: filter["agent"] });
  // The lines the search with the same filters would find; none when the search would refuse the filters.
  const compiled = useMemo(() => liveFilter(filter), [query.toString()]);
  const lines = compiled instanceof Error ? [] : messages.map((m) => m.data as LogEntry & LogRecord).filter((entry) => matches(entry, compiled));
  return (
    <>
      <p class="muted small" role="status">
        {connected ? "Live: new lines appear at the bottom." : "Connecting…"}
      </p>
      {compiled instanceof Error && <ErrorNote error={compiled} />}
      <ol class="log">
        {lines.map((r, i) => (
          <LogLine key={i} record={r} />
        ))}
      </ol>
    </>
  );
}

/** The search's filter of the URL's fields, or why the search would refuse them (an unknown level). */
function liveFilter(filter: Record<string, string | undefined>): CompiledFilter | Error {
  try {
    return compileFilter({ level: filter["level"], class: filter["class"], agent: filter["agent"], traceId: filter["traceId"], q: filter["q"] });
  } catch (error) {
    return error as Error;
  }
}
