import { LEVEL_VALUES, type LevelName } from "../logs/levels.ts";
import type { LogRecord } from "../logs/types.ts";

/**
 * One log record as the store keeps and serves it (the inspector's `GET /api/logs` items): pino's
 * `level` (10–60) and `time` (epoch ms), `msg`, the agent's `class` and instance name `agent`, the
 * correlation ids in camelCase, then every other field of the record as written.
 */
export interface LogEntry {
  /** The store's sequence number: the cursor of a page and the `id:` of a live message. */
  id: number;
  time: number;
  level: number;
  msg?: string;
  /** The agent's class (the logger's `agent` field). */
  class?: string;
  /** The agent's instance name (the logger's `name` field, when written inside an agent). */
  agent?: string;
  requestId?: string;
  traceId?: string;
  spanId?: string;
  [field: string]: unknown;
}

/** Fields of a logger record the entry takes over under its own names (`agent`/`name` only inside an agent). */
const TAKEN = new Set(["id", "level", "time", "msg", "requestId", "trace_id", "span_id"]);

/**
 * The entry of a record: the logger's `agent`/`name`/`trace_id`/`span_id` become `class`/`agent`/
 * `traceId`/`spanId` (a `name` field outside an agent's context stays `name`). A line that is not a
 * JSON object becomes an `info` entry whose `msg` is the line.
 */
export function toLogEntry(id: number, raw: LogRecord | string, now: () => number): LogEntry {
  const record = typeof raw === "string" ? parseLine(raw, now) : raw;
  const entry: LogEntry = { id, time: numberOr(record.time, now()), level: numberOr(record.level, LEVEL_VALUES.info) };
  if (typeof record.msg === "string") entry.msg = record.msg;
  const inAgent = typeof record.agent === "string";
  if (inAgent) entry.class = record.agent as string;
  if (inAgent && typeof record.name === "string") entry.agent = record.name;
  if (typeof record.requestId === "string") entry.requestId = record.requestId;
  if (typeof record.trace_id === "string") entry.traceId = record.trace_id;
  if (typeof record.span_id === "string") entry.spanId = record.span_id;
  for (const key of Object.keys(record)) {
    if (TAKEN.has(key) || (inAgent && (key === "agent" || key === "name")) || key in entry) continue;
    entry[key] = record[key];
  }
  return entry;
}

/** The text `q` searches: the message and the error's type and message, lowercased. */
export function searchText(entry: LogEntry): string {
  let text = entry.msg ?? "";
  const err = entry.err as { type?: unknown; message?: unknown } | undefined;
  if (err && typeof err === "object") text += `\n${String(err.type ?? "")}: ${String(err.message ?? "")}`;
  return text.toLowerCase();
}

/**
 * A minimum level from a query: a level name (`"warn"`) or its number (`40`, `"40"`).
 * @throws RangeError naming the accepted values.
 */
export function parseLevel(level: string | number): number {
  if (typeof level === "number" && Number.isFinite(level)) return level;
  const text = String(level).trim().toLowerCase();
  if (text in LEVEL_VALUES) return LEVEL_VALUES[text as LevelName];
  if (/^\d+$/.test(text)) return Number(text);
  throw new RangeError(`Unknown log level ${JSON.stringify(level)}: use trace, debug, info, warn, error, fatal or a number`);
}

function parseLine(line: string, now: () => number): LogRecord {
  const text = line.endsWith("\n") ? line.slice(0, -1) : line;
  if (text.startsWith("{")) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return parsed as LogRecord;
    } catch {
      // not JSON: kept as a message below
    }
  }
  return { level: LEVEL_VALUES.info, time: now(), msg: text };
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}
