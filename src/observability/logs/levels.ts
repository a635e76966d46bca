/** pino's level names, lowest to highest. `silent` turns a logger off. */
export type LevelName = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

/** A level a logger can be set to: a level name or `"silent"`. */
export type LevelSetting = LevelName | "silent";

/** pino's numbers for its levels (what the `level` field of a JSON line holds). */
export const LEVEL_VALUES: Readonly<Record<LevelName, number>> = Object.freeze({
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
});

export const LEVEL_NAMES: readonly LevelName[] = ["trace", "debug", "info", "warn", "error", "fatal"];

/** The threshold of a setting: records below it are dropped (`silent` drops everything). */
export function thresholdOf(level: string): number {
  if (level === "silent") return Number.POSITIVE_INFINITY;
  const value = (LEVEL_VALUES as Record<string, number | undefined>)[level];
  if (value === undefined) {
    throw new RangeError(`Unknown log level "${level}": use one of ${[...LEVEL_NAMES, "silent"].join(", ")}`);
  }
  return value;
}

/** The level name of a numeric `level` field (e.g. 30 → "info"); unknown numbers give `"userlevel"`. */
export function labelOf(value: number): string {
  for (const name of LEVEL_NAMES) if (LEVEL_VALUES[name] === value) return name;
  return "userlevel";
}
