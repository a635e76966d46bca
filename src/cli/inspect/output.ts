/**
 * Where `hearth inspect` writes, and how: JSON as the API answers, or a table with `--pretty`. A reader
 * that goes away early (`| head`) ends the command quietly with status 0, as it does other Unix tools.
 */

/** Where the command writes (tests pass their own). */
export interface InspectIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Ends a followed stream (`logs --follow`, `stream`): aborted when the output is closed. */
  signal?: AbortSignal;
}

/**
 * The process's stdout and stderr. A closed pipe (EPIPE: the reader exited) aborts the signal, which
 * ends a followed stream; the error is not thrown: nobody is left to read what was not written.
 */
export function processIo(): InspectIo {
  const closed = new AbortController();
  const onError = (error: NodeJS.ErrnoException): void => {
    if (error.code !== "EPIPE") throw error;
    closed.abort();
  };
  process.stdout.on("error", onError);
  process.stderr.on("error", onError);
  return {
    stdout: (text) => {
      if (!closed.signal.aborted) process.stdout.write(text);
    },
    stderr: (text) => {
      if (!closed.signal.aborted) process.stderr.write(text);
    },
    signal: closed.signal,
  };
}

/**
 * A table for a list of objects, a page's items or SQL rows (`{ columns, rows }`), followed by the
 * cursor of the next page when there is one; `key: value` lines for one object.
 */
export function pretty(body: unknown): string {
  const next = (body as { next?: unknown } | null)?.next;
  const more = typeof next === "string" ? `(more: --cursor ${next})\n` : "";
  const sql = sqlRows(body);
  if (sql) return table(sql.columns, sql.rows) + more;
  const list = Array.isArray(body) ? body : Array.isArray((body as { items?: unknown })?.items) ? (body as { items: unknown[] }).items : undefined;
  if (list) {
    const columns = [...new Set(list.flatMap((row) => (isObject(row) ? Object.keys(row) : ["value"])))];
    return table(columns, list.map((row) => columns.map((column) => (isObject(row) ? row[column] : row)))) + more;
  }
  if (isObject(body)) return Object.entries(body).map(([key, value]) => `${key}: ${cellText(value)}`).join("\n") + "\n";
  return cellText(body) + "\n";
}

function table(columns: readonly string[], values: ReadonlyArray<readonly unknown[]>): string {
  if (values.length === 0) return "(none)\n";
  const rows = values.map((row) => columns.map((_, i) => cellText(row[i]).slice(0, 60)));
  const widths = columns.map((column, i) => Math.max(column.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(columns), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n") + "\n";
}

/** The columns and rows of a SQL answer (a query's, a table page's). */
function sqlRows(body: unknown): { columns: string[]; rows: unknown[][] } | undefined {
  if (!isObject(body) || !Array.isArray(body.columns) || !Array.isArray(body.rows) || !body.rows.every(Array.isArray)) return undefined;
  return { columns: body.columns.map((column) => (typeof column === "string" ? column : isObject(column) && typeof column.name === "string" ? column.name : String(column))), rows: body.rows as unknown[][] };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function cellText(value: unknown): string {
  return value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);
}
