/**
 * The "Hearth vs workerd" markdown table of bench/workerd-compare.ts, for docs/benchmarks.md: when,
 * on what, with which command and versions, then one line per workload with both figures and the ratio.
 */
import { formatNumber } from "./common.ts";

/** One workload measured on both runtimes (NaN where a side could not be measured). */
export interface ComparedWorkload {
  name: string;
  unit: string;
  /** Which way is better, so the ratio can be read. */
  better: "higher" | "lower";
  hearth: number;
  /** Hearth with durability "strict", where measured. */
  hearthStrict?: number;
  workerd: number;
  /** Server CPU per operation (user + system of the server process), µs, where measured. */
  hearthCpuUs?: number;
  workerdCpuUs?: number;
  /** What exactly is measured, on each side. */
  how: string;
}

/** The circumstances of the run, printed above the table. */
export interface ReportContext {
  date: string;
  machine: string;
  command: string;
  versions: string;
  loadBefore: number;
  loadAfter: number;
  /** Lines printed under the table (the bare-server ceiling, how the figures were taken). */
  notes: string[];
}

/** Hearth / workerd. */
export function ratioOf(workload: Pick<ComparedWorkload, "hearth" | "workerd">): number {
  return workload.hearth / workload.workerd;
}

function cell(value: number | undefined, unit: string): string {
  return value === undefined ? "—" : Number.isFinite(value) ? `${formatNumber(value)} ${unit}` : "n/a";
}

function cpuCell(workload: ComparedWorkload): string {
  if (workload.hearthCpuUs === undefined && workload.workerdCpuUs === undefined) return "";
  const us = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? "n/a" : `${formatNumber(value)} µs`);
  return `${us(workload.hearthCpuUs)} · ${us(workload.workerdCpuUs)}`;
}

export function compareMarkdown(workloads: readonly ComparedWorkload[], context: ReportContext): string {
  const lines = [
    "### Hearth vs workerd",
    "",
    `Measured ${context.date} on ${context.machine}, load average ${context.loadBefore.toFixed(2)} at the start and ` +
      `${context.loadAfter.toFixed(2)} at the end (wall-clock figures on a shared machine are noisy).`,
    `Command: \`${context.command}\`. ${context.versions}.`,
    "",
    "| Workload | Hearth | Hearth, strict | workerd | Hearth / workerd | Server CPU per operation, Hearth · workerd | What is measured |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const workload of workloads) {
    const ratio = ratioOf(workload);
    const ratioCell = Number.isFinite(ratio) ? `${ratio.toFixed(2)}× (${workload.better} is better)` : "n/a";
    lines.push(
      `| ${workload.name} | ${cell(workload.hearth, workload.unit)} | ${cell(workload.hearthStrict, workload.unit)} | ` +
        `${cell(workload.workerd, workload.unit)} | ${ratioCell} | ${cpuCell(workload)} | ${workload.how} |`,
    );
  }
  if (context.notes.length > 0) lines.push("", ...context.notes.map((note) => `- ${note}`));
  return lines.join("\n");
}
