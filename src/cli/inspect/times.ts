/**
 * Times on the command line: the API takes epoch milliseconds, people type `15m` or a date.
 */
import { UsageError } from "./args.ts";

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration such as `90s`, `15m`, `2h` or `7d`, in milliseconds.
 * @example durationMs("15m", "--for") // 900000
 */
export function durationMs(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) throw new UsageError(`${option} takes a duration such as 30s, 15m, 2h or 7d, got ${JSON.stringify(text)}`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
}

/**
 * A point in time, in epoch milliseconds: epoch milliseconds as they are, a date (`2025-01-31T12:00Z`),
 * or, when `relative` says which way, a duration from now (`15m`: 15 minutes ago for "past").
 * @example timeMs("15m", "--since", "past", Date.now())
 */
export function timeMs(text: string, option: string, relative: "past" | "future", now: number): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  if (/^\d+(?:\.\d+)?(?:ms|s|m|h|d)$/.test(trimmed)) return relative === "past" ? now - durationMs(trimmed, option) : now + durationMs(trimmed, option);
  const parsed = Date.parse(trimmed);
  if (Number.isNaN(parsed)) {
    const example = relative === "past" ? "15m for 15 minutes ago" : "2h for two hours from now";
    throw new UsageError(`${option} takes epoch milliseconds, a date (2025-01-31T12:00Z) or a duration (${example}), got ${JSON.stringify(text)}`);
  }
  return parsed;
}
