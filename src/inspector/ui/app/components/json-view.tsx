/** A collapsible JSON tree: objects and arrays as <details>, leaves coloured by type. */

const OPEN_DEPTH = 2;
/** Children shown per object or array before "… n more". */
const MAX_CHILDREN = 200;

export function JsonView({ value, label }: { value: unknown; label?: string }) {
  return (
    <div class="json" role="group" aria-label={label ?? "JSON value"}>
      <Node value={value} depth={0} />
    </div>
  );
}

function Node({ value, depth, name }: { value: unknown; depth: number; name?: string }) {
  const key = name === undefined ? null : <span class="json-key">{name}: </span>;
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value)
      ? value.map((v, i) => [String(i), v] as const)
      : Object.entries(value as Record<string, unknown>);
    const open = Array.isArray(value) ? "[" : "{";
    const close = Array.isArray(value) ? "]" : "}";
    if (entries.length === 0)
      return (
        <div>
          {key}
          {open}
          {close}
        </div>
      );
    return (
      <details open={depth < OPEN_DEPTH}>
        <summary>
          {key}
          {open}
          <span class="muted"> {entries.length} </span>
          {close}
        </summary>
        <div class="json-children">
          {entries.slice(0, MAX_CHILDREN).map(([k, v]) => (
            <Node key={k} name={k} value={v} depth={depth + 1} />
          ))}
          {entries.length > MAX_CHILDREN && <div class="muted">… {entries.length - MAX_CHILDREN} more</div>}
        </div>
      </details>
    );
  }
  return (
    <div>
      {key}
      <Leaf value={value} />
    </div>
  );
}

function Leaf({ value }: { value: unknown }) {
  if (value === null) return <span class="json-null">null</span>;
  if (typeof value === "string") return <span class="json-string">{JSON.stringify(value)}</span>;
  if (typeof value === "number") return <span class="json-number">{String(value)}</span>;
  if (typeof value === "boolean") return <span class="json-bool">{String(value)}</span>;
  return <span class="muted">{String(value)}</span>;
}
