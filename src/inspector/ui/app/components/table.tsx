/** Tables and paging. */
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";

export interface Column<T> {
  title: string;
  cell: (row: T) => ComponentChildren;
  /** Right-aligned numbers. */
  numeric?: boolean;
}

export function Table<T>({
  caption,
  columns,
  rows,
  rowKey,
  empty = "Nothing here.",
}: {
  caption: string;
  columns: Column<T>[];
  rows: readonly T[];
  rowKey: (row: T, index: number) => string;
  empty?: string;
}) {
  if (rows.length === 0) return <p class="muted">{empty}</p>;
  return (
    <div class="table-wrap">
      <table>
        <caption class="sr-only">{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column.title} scope="col" class={column.numeric === true ? "num" : undefined}>
                {column.title}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, index) => (
            <tr key={rowKey(row, index)}>
              {columns.map((column) => (
                <td key={column.title} class={column.numeric === true ? "num" : undefined}>
                  {column.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * Previous/next over opaque cursors: `cursors` is the stack of cursors of the pages before
 * this one; the current page's cursor is the top.
 */
export function Pager({
  cursors,
  next,
  onChange,
  label = "Pages",
}: {
  cursors: readonly string[];
  next: string | null | undefined;
  onChange: (cursors: string[]) => void;
  /** The navigation's name, when a view pages more than one list. */
  label?: string;
}) {
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" disabled={cursors.length === 0} onClick={() => onChange(cursors.slice(0, -1))}>
        ← Previous
      </button>
      <span class="muted">Page {cursors.length + 1}</span>
      <button
        type="button"
        disabled={next === null || next === undefined}
        onClick={() => next !== null && next !== undefined && onChange([...cursors, next])}
      >
        Next →
      </button>
    </nav>
  );
}

/**
 * The cursor stack of a {@link Pager} for a list whose filters are `scope` (say, the URL query): other
 * filters are another list, which starts at its first page.
 */
export function usePageCursors(scope: string): [string[], (cursors: string[]) => void] {
  const [paged, setPaged] = useState<{ scope: string; cursors: string[] }>({ scope, cursors: [] });
  const cursors = paged.scope === scope ? paged.cursors : NO_CURSORS;
  return [cursors, (next) => setPaged({ scope, cursors: next })];
}

const NO_CURSORS: string[] = [];

/** A {@link Pager} for a list that may fit one page: shown only once there is another page to go to. */
export function PagerIfPaged(props: Parameters<typeof Pager>[0]) {
  if (props.cursors.length === 0 && (props.next === null || props.next === undefined)) return null;
  return <Pager {...props} />;
}
