import type { LogRecord } from "../../../src/observability/logs/index.ts";

/** A destination that keeps the lines written to it. */
export function collector() {
  const lines: string[] = [];
  return {
    lines,
    write(line: string) {
      lines.push(line);
    },
    /** Every line parsed back from JSON. */
    records(): LogRecord[] {
      return lines.map((line) => {
        if (!line.endsWith("\n")) throw new Error(`line without newline: ${line}`);
        return JSON.parse(line) as LogRecord;
      });
    },
  };
}
