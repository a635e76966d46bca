/**
 * Which log lines a Logs filter keeps, by the rules of the server's search (`GET /api/logs`): a level
 * at or above the one asked, the exact class, instance and trace id, and text found, ignoring case,
 * in the message or the error's type and message. The live tail applies it to what the stream sends,
 * so it shows the lines the same search would.
 */
import type { LogRecord } from "./logs.tsx";

export interface LogFilter {
  level?: string | undefined;
  class?: string | undefined;
  agent?: string | undefined;
  traceId?: string | undefined;
  q?: string | undefined;
}

/** pino's numeric levels by name. */
export const LEVEL_NAMES: Record<number, string> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };

export function levelName(level: string | number): string {
  return typeof level === "number" ? (LEVEL_NAMES[level] ?? String(level)) : level;
}

function levelValue(level: string | number): number {
  if (typeof level === "number") return level;
  if (/^\d+$/.test(level.trim())) return Number(level);
  return Number(Object.entries(LEVEL_NAMES).find(([, name]) => name === level.trim().toLowerCase())?.[0] ?? 0);
}

/** The text `q` searches: the message, then the error's type and message (as the server's store has it). */
function searchText(record: LogRecord): string {
  let text = typeof record.msg === "string" ? record.msg : "";
  const err = record.err as { type?: unknown; message?: unknown } | undefined;
  if (err !== null && typeof err === "object") text += `\n${String(err.type ?? "")}: ${String(err.message ?? "")}`;
  return text.toLowerCase();
}

/** True when the search with `filter` would find `record`. */
export function matchesLogFilter(record: LogRecord, filter: LogFilter): boolean {
  if (filter.level !== undefined && levelValue(record.level) < levelValue(filter.level)) return false;
  if (filter.class !== undefined && record.class !== filter.class) return false;
  if (filter.agent !== undefined && record.agent !== filter.agent) return false;
  if (filter.traceId !== undefined && record.traceId !== filter.traceId.toLowerCase()) return false;
  if (filter.q !== undefined && !searchText(record).includes(filter.q.toLowerCase())) return false;
  return true;
}
