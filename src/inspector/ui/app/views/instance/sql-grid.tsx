/** A grid of SQL rows: NULL and empty strings told apart, BLOBs as hex and size, long text cut by the server, JSON expandable. */
import { brief } from "../../format.ts";

export function Grid({ caption, columns, rows }: { caption: string; columns: string[]; rows: unknown[][] }) {
  if (rows.length === 0) return <p class="muted">No rows.</p>;
  return (
    <div class="table-wrap">
      <table class="grid">
        <caption class="sr-only">{caption}</caption>
        <thead>
          <tr>
            {columns.map((c, i) => (
              <th key={i} scope="col">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, r) => (
            <tr key={r}>
              {row.map((cell, c) => (
                <td key={c}>
                  <Cell value={cell} />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Cell({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span class="json-null">NULL</span>;
  if (value === "") return <span class="muted">(empty)</span>;
  if (typeof value === "object") {
    const blob = value as { $blob?: string; size?: number };
    if (typeof blob.$blob === "string") return <span class="mono" title={blob.$blob}>BLOB {blob.size ?? "?"} bytes: {blob.$blob.slice(0, 32)}…</span>;
    const text = value as { $text?: string; length?: number };
    if (typeof text.$text === "string")
      return (
        <details>
          <summary class="mono">
            {text.$text.slice(0, 80)}… ({text.length ?? "?"} characters, the first {text.$text.length} kept)
          </summary>
          <pre class="code">{text.$text}</pre>
        </details>
      );
    return <span class="mono">{brief(value, 80)}</span>;
  }
  if (typeof value === "string" && value.length > 80)
    return (
      <details>
        <summary class="mono">{value.slice(0, 80)}…</summary>
        <pre class="code">{prettyIfJson(value)}</pre>
      </details>
    );
  return <span class={typeof value === "number" ? "json-number" : undefined}>{String(value)}</span>;
}

function prettyIfJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
