import { inspect, styleText } from "node:util";
import { labelOf } from "./levels.ts";
import type { LogRecord } from "./types.ts";

export interface PrettyOptions {
  /**
   * Colour the output. Default: on when the stream is a terminal, off when `NO_COLOR` is set (to any
   * non-empty value), on when `FORCE_COLOR` is set to anything but `0`.
   */
  colors?: boolean;
  /** The stream the colour default is judged by. Default `process.stdout`. */
  stream?: { isTTY?: boolean };
  /** Fields not shown among the extra fields (besides the ones the line already shows). */
  hide?: readonly string[];
}

type Style = Parameters<typeof styleText>[0];

const LEVEL_STYLE: Record<string, Style> = {
  trace: "gray",
  debug: "blue",
  info: "green",
  warn: "yellow",
  error: "red",
  fatal: ["bgRed", "white"],
  userlevel: "white",
};

/** Fields the line shows in its own columns (or that say nothing in development). */
const SHOWN = new Set(["level", "time", "msg", "pid", "hostname", "agent", "name", "err"]);

/** Whether colours are wanted, by `NO_COLOR`, `FORCE_COLOR` and whether the stream is a terminal. */
export function colorsWanted(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "") return env.FORCE_COLOR !== "0";
  return stream.isTTY === true;
}

/**
 * One readable line for a record: time, level, `Class/name`, message, then the other fields as
 * `key=value`; an error's stack follows on indented lines.
 * @example
 * formatPretty({ level: 30, time: Date.now(), agent: "Counter", name: "a", msg: "hi", n: 1 }, { colors: false })
 * // "12:00:00.000 INFO  Counter/a hi n=1"
 */
export function formatPretty(record: LogRecord, options: PrettyOptions = {}): string {
  const colors = options.colors ?? colorsWanted(options.stream);
  const paint = (style: Style, text: string) => (colors ? styleText(style, text, { validateStream: false }) : text);
  const label = labelOf(record.level);
  const parts: string[] = [paint("dim", clockTime(record.time)), paint(LEVEL_STYLE[label] ?? "white", label.toUpperCase().padEnd(5))];
  if (typeof record.agent === "string") {
    parts.push(paint("cyan", typeof record.name === "string" ? `${record.agent}/${record.name}` : record.agent));
  }
  const err = record.err as { type?: unknown; message?: unknown; stack?: unknown } | undefined;
  if (record.msg !== undefined) parts.push(String(record.msg));
  else if (err?.message !== undefined) parts.push(String(err.message));
  const hidden = new Set(options.hide ?? []);
  for (const [key, value] of Object.entries(record)) {
    if (SHOWN.has(key) || hidden.has(key)) continue;
    parts.push(`${paint("dim", key + "=")}${typeof value === "string" ? value : inspect(value, { colors, breakLength: Infinity, depth: 4 })}`);
  }
  let line = parts.join(" ");
  if (err && typeof err.stack === "string" && err.stack) {
    line += "\n" + paint("dim", err.stack.split("\n").map((l) => "    " + l.trim()).join("\n"));
  }
  return line;
}

function clockTime(time: number): string {
  const date = new Date(time);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/**
 * Turns a JSON log line (from Hearth or pino) into a pretty one; lines that are not JSON pass unchanged.
 * @example process.stdin.on("data", …) → prettyLine(line)
 */
export function prettyLine(line: string, options: PrettyOptions = {}): string {
  try {
    const record: unknown = JSON.parse(line);
    if (typeof record === "object" && record !== null && typeof (record as LogRecord).level === "number") {
      return formatPretty(record as LogRecord, options);
    }
  } catch {
    // not JSON: shown as it came
  }
  return line;
}
