/**
 * The command line of `hearth inspect`: positional arguments and `--name value` options. Which option
 * a command takes is known by what its plan reads (plan-context.ts): any other is refused, never ignored.
 */
import { closest } from "../args.ts";

/** A mistake in the command line: exit status 2, with a pointer to `--help`. */
export class UsageError extends Error {}

export interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
}

/** Options that take a value. */
const VALUE_FLAGS = new Set([
  "url",
  "token",
  "admin-token",
  "sub",
  "limit",
  "cursor",
  "q",
  "params",
  "workflow",
  "status",
  "class",
  "agent",
  "level",
  "since",
  "model",
  "conversation",
  "trace",
  "min-duration-ms",
  "min-cost-usd",
  "id",
  "code",
  "reason",
  "topics",
  "rule",
  "severity",
  "until",
  "for",
  "comment",
  "header",
]);
const BOOLEAN_FLAGS = new Set(["write", "pretty", "follow", "error", "help", "prometheus", "replace"]);
/** Options given more than once: a sub-agent path grows by each pair; headers are one a line. */
const REPEATED_SEPARATOR: Readonly<Record<string, string>> = { sub: "/", header: "\n" };

/** Options every command takes. */
export const GLOBAL_FLAGS: ReadonlySet<string> = new Set(["url", "token", "admin-token", "pretty", "help"]);

export function parseArgs(argv: readonly string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h") {
      flags.set("help", true);
      continue;
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!match) {
      positional.push(arg);
      continue;
    }
    const name = match[1]!;
    if (BOOLEAN_FLAGS.has(name)) flags.set(name, true);
    else if (VALUE_FLAGS.has(name)) {
      const value = match[2] ?? argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      const previous = flags.get(name);
      const separator = REPEATED_SEPARATOR[name];
      flags.set(name, separator !== undefined && typeof previous === "string" ? `${previous}${separator}${value}` : value);
    } else {
      const meant = closest(`--${name}`, [...VALUE_FLAGS, ...BOOLEAN_FLAGS].map((known) => `--${known}`));
      throw new UsageError(`Unknown option --${name}${meant ? ` (did you mean ${meant}?)` : ""}`);
    }
  }
  return { positional, flags };
}
