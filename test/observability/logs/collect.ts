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
    /** The record of line `index`; fails the test when there is none. */
    at(index: number): LogRecord {
      const record = this.records()[index];
      if (!record) throw new Error(`no line ${index}: ${this.lines.length} written`);
      return record;
    },
  };
}
