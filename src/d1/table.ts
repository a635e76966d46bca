/** Results as a box-drawn text table (the way wrangler prints `d1 execute` results). */
export function formatTable(columns: readonly string[], rows: readonly (readonly unknown[])[]): string[] {
  const cells = rows.map((row) => columns.map((_, i) => cellText(row[i])));
  const widths = columns.map((name, i) => Math.max(name.length, ...cells.map((row) => row[i]!.length)));
  const rule = (left: string, middle: string, right: string) => left + widths.map((width) => "─".repeat(width + 2)).join(middle) + right;
  const line = (values: readonly string[]) => `│ ${values.map((value, i) => value.padEnd(widths[i]!)).join(" │ ")} │`;
  return [rule("┌", "┬", "┐"), line(columns), rule("├", "┼", "┤"), ...cells.map(line), rule("└", "┴", "┘")];
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return `[BLOB ${value.length} bytes]`;
  return String(value).replace(/\r?\n/g, "\\n");
}
