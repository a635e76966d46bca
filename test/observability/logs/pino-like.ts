/** A pino look-alike for the tests (pino is not a dependency): it keeps each call with the bindings of its child. */
import type { PinoLike } from "../../../src/observability/logs/index.ts";

export type PinoCall = { level: string; bindings: Record<string, unknown>; args: unknown[] };

export function pinoLike(calls: PinoCall[], bindings: Record<string, unknown> = {}, state = { level: "info" }): PinoLike {
  const method = (level: string) => (...args: unknown[]) => void calls.push({ level, bindings, args });
  return {
    trace: method("trace"),
    debug: method("debug"),
    info: method("info"),
    warn: method("warn"),
    error: method("error"),
    fatal: method("fatal"),
    get level() {
      return state.level;
    },
    set level(level: string) {
      state.level = level;
    },
    child: (more) => pinoLike(calls, { ...bindings, ...more }, state),
  };
}
