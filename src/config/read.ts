import { ConfigError } from "./errors.ts";
import { formatKeyPath, type KeyPath } from "./key-path.ts";
import { lineOf } from "./locate.ts";
import type { ConfigSource } from "./parse.ts";
import type { UnsupportedBinding } from "./types.ts";

/** A parsed table: a plain object from JSONC or TOML. */
export type RawTable = Record<string, unknown>;

/** A name that ends up on `env`, collected to find duplicates across every binding kind. */
export interface NamedBinding {
  name: string;
  /** Where it is declared. */
  at: KeyPath;
  /** Vars and required secrets may share a name (a local value for a secret); bindings may not share one. */
  kind: "binding" | "var" | "secret";
}

/** What validation reads from and collects into while it walks one config. */
export interface CheckContext {
  readonly source: ConfigSource;
  /** The config file's directory: relative paths resolve against it. */
  readonly dir: string;
  readonly warnings: string[];
  readonly names: NamedBinding[];
  readonly unsupported: UnsupportedBinding[];
}

/** Binding names become `env.<name>`: letters, digits, `_` and `$`, not starting with a digit. */
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Stops validation with one {@link ConfigError}: `wrangler.jsonc:14: <key path> <problem>`.
 */
export function fail(ctx: CheckContext, path: KeyPath, problem: string): never {
  const line = lineOf(ctx.source, path);
  const keyPath = formatKeyPath(path);
  const where = line === undefined ? ctx.source.fileName : `${ctx.source.fileName}:${line}`;
  throw new ConfigError(`${where}: ${keyPath} ${problem}`, { file: ctx.source.path, line, keyPath });
}

export function isTable(value: unknown): value is RawTable {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** A short, readable rendering of a bad value for messages. */
export function describeValue(value: unknown): string {
  if (value instanceof Date) return "a TOML date (quote it to make it a string)";
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function asTable(ctx: CheckContext, value: unknown, path: KeyPath): RawTable {
  if (!isTable(value)) fail(ctx, path, `must be an object (got ${describeValue(value)})`);
  return value;
}

/** Each element of an array of tables, with its path. */
export function tablesOf(ctx: CheckContext, value: unknown, path: KeyPath): { table: RawTable; at: KeyPath }[] {
  if (!Array.isArray(value)) fail(ctx, path, `must be an array (got ${describeValue(value)})`);
  return value.map((item: unknown, index) => ({ table: asTable(ctx, item, [...path, index]), at: [...path, index] }));
}

export function optionalString(ctx: CheckContext, table: RawTable, key: string, at: KeyPath): string | undefined {
  const value = table[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") {
    fail(ctx, [...at, key], `must be a non-empty string (got ${describeValue(value)})`);
  }
  return value;
}

export function requiredString(ctx: CheckContext, table: RawTable, key: string, at: KeyPath): string {
  const value = optionalString(ctx, table, key, at);
  if (value === undefined) fail(ctx, [...at, key], "is required");
  return value;
}

export function optionalBoolean(ctx: CheckContext, table: RawTable, key: string, at: KeyPath): boolean | undefined {
  const value = table[key];
  if (value !== undefined && typeof value !== "boolean") {
    fail(ctx, [...at, key], `must be true or false (got ${describeValue(value)})`);
  }
  return value;
}

/** A number in `[min, max]`; `integer` also requires a whole number. The message names the range. */
export function optionalNumber(
  ctx: CheckContext,
  table: RawTable,
  key: string,
  at: KeyPath,
  range: { min: number; max?: number; integer?: boolean },
): number | undefined {
  const value = table[key];
  if (value === undefined) return undefined;
  const integer = range.integer ?? true;
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    (!integer || Number.isInteger(value)) &&
    value >= range.min &&
    (range.max === undefined || value <= range.max);
  if (!ok) {
    const kind = integer ? "an integer" : "a number";
    const bounds = range.max === undefined ? `of at least ${range.min}` : `from ${range.min} to ${range.max}`;
    fail(ctx, [...at, key], `must be ${kind} ${bounds} (got ${describeValue(value)})`);
  }
  return value;
}

export function optionalStringArray(ctx: CheckContext, table: RawTable, key: string, at: KeyPath): string[] | undefined {
  const value = table[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) fail(ctx, [...at, key], `must be an array of strings (got ${describeValue(value)})`);
  value.forEach((item: unknown, index) => {
    if (typeof item !== "string") fail(ctx, [...at, key, index], `must be a string (got ${describeValue(item)})`);
  });
  return value as string[];
}

/**
 * A binding name (`env.<name>`): a required string that is a JS identifier. Recorded for the
 * duplicate check across binding kinds.
 */
export function bindingName(ctx: CheckContext, table: RawTable, key: string, at: KeyPath): string {
  const name = requiredString(ctx, table, key, at);
  checkIdentifier(ctx, name, [...at, key], "binding name");
  ctx.names.push({ name, at: [...at, key], kind: "binding" });
  return name;
}

/** Class and binding names must be usable as `env.X` / `export class X`. */
export function checkIdentifier(ctx: CheckContext, name: string, path: KeyPath, what: string): void {
  if (!IDENTIFIER.test(name)) {
    fail(ctx, path, `"${name}" is not a valid ${what}: use letters, digits, _ and $, not starting with a digit`);
  }
}

/**
 * Names Hearth stores data under (database, namespace and queue names): no path separators, no
 * leading dot, at most 255 characters, so a name can never reach outside the data directory.
 */
export function checkStorageName(ctx: CheckContext, name: string, path: KeyPath): void {
  if (name.length > 255 || name.startsWith(".") || /[/\\\0]/.test(name)) {
    fail(ctx, path, `"${name}" cannot be used as a storage name: no / or \\, not starting with ".", at most 255 characters`);
  }
}

/** Keys wrangler does not know in a table Hearth reads get a warning, as wrangler gives one. */
export function warnUnknownKeys(ctx: CheckContext, table: RawTable, allowed: readonly string[], at: KeyPath): void {
  const unknown = Object.keys(table).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    const list = unknown.map((key) => `"${key}"`).join(", ");
    ctx.warnings.push(`${ctx.source.fileName}: unknown key${unknown.length > 1 ? "s" : ""} ${list} in ${formatKeyPath(at)} (ignored)`);
  }
}
