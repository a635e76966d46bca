import { readFileSync } from "node:fs";
import { basename, extname, resolve } from "node:path";
import { type Node, parseTree, printParseErrorCode, type ParseError } from "jsonc-parser";
import { parse as parseToml, TomlError } from "smol-toml";
import { ConfigError } from "./errors.ts";

/** `wrangler.json` and `wrangler.jsonc` are both read as JSONC (comments and trailing commas allowed), as wrangler does. */
export type ConfigFormat = "jsonc" | "toml";

/** A config file read and parsed: what validation and error locations work from. */
export interface ConfigSource {
  /** Absolute path. */
  path: string;
  /** `wrangler.jsonc`, the name messages start with. */
  fileName: string;
  format: ConfigFormat;
  /** The file's text, for finding the line of a key. */
  text: string;
  /** The parsed top-level table (plain objects, arrays and values; TOML dates stay `Date`s). */
  raw: Record<string, unknown>;
}

// jsonc-parser's error codes, in words.
const JSON_PROBLEMS: Record<string, string> = {
  InvalidSymbol: "unexpected character",
  InvalidNumberFormat: "invalid number",
  PropertyNameExpected: "expected a property name in double quotes",
  ValueExpected: "expected a value",
  ColonExpected: "expected a colon",
  CommaExpected: "expected a comma",
  CloseBraceExpected: "expected a closing brace }",
  CloseBracketExpected: "expected a closing bracket ]",
  EndOfFileExpected: "expected the end of the file",
  InvalidCommentToken: "invalid comment",
  UnexpectedEndOfComment: "unterminated comment",
  UnexpectedEndOfString: "unterminated string",
  UnexpectedEndOfNumber: "unexpected end of number",
  InvalidUnicode: "invalid unicode escape",
  InvalidEscapeCharacter: "invalid escape character",
  InvalidCharacter: "invalid character in a string",
};

/** The format a config file is read as, from its extension. */
export function configFormatOf(path: string): ConfigFormat {
  const extension = extname(path).toLowerCase();
  if (extension === ".toml") return "toml";
  if (extension === ".json" || extension === ".jsonc") return "jsonc";
  throw new ConfigError(`${basename(path)}: unknown config format "${extension}" (use .jsonc, .json or .toml)`, {
    file: path,
  });
}

/**
 * Reads and parses a wrangler config file.
 *
 * @throws {ConfigError} when the file cannot be read, has a syntax error (the message says
 *   `file:line:column: problem`), or its top level is not a table.
 * @example
 * const source = readConfigFile("/srv/app/wrangler.jsonc");
 * console.log(source.raw.name);
 */
export function readConfigFile(path: string): ConfigSource {
  const absolute = resolve(path);
  const format = configFormatOf(absolute);
  let text: string;
  try {
    text = readFileSync(absolute, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "no such file" : (error as Error).message;
    throw new ConfigError(`${absolute}: cannot read the config file (${reason})`, { file: absolute, cause: error });
  }
  const fileName = basename(absolute);
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  return { path: absolute, fileName, format, text, raw: parseConfigText(text, fileName, format, absolute) };
}

/**
 * Parses config text: JSONC (comments and trailing commas allowed) or TOML.
 *
 * @throws {ConfigError} on a syntax error, with `fileName:line:column: problem` as its message.
 * @example
 * parseConfigText('{ "name": "app", }', "wrangler.jsonc", "jsonc"); // { name: "app" }
 */
export function parseConfigText(
  text: string,
  fileName: string,
  format: ConfigFormat,
  file: string = fileName,
): Record<string, unknown> {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const value = format === "toml" ? parseTomlText(body, fileName, file) : parseJsoncText(body, fileName, file);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`${fileName}: the top level must be an object of settings (got ${Array.isArray(value) ? "an array" : JSON.stringify(value)})`, { file });
  }
  return value as Record<string, unknown>;
}

function parseJsoncText(text: string, fileName: string, file: string): unknown {
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  const first = errors[0];
  if (first !== undefined) {
    const { line, column } = lineAndColumn(text, first.offset);
    const code = printParseErrorCode(first.error);
    throw new ConfigError(`${fileName}:${line}:${column}: ${JSON_PROBLEMS[code] ?? code}`, { file, line, column });
  }
  return tree === undefined ? undefined : valueOf(tree);
}

/**
 * A JSONC tree as values. Keys are defined rather than assigned, so `"__proto__"` stays a key (as
 * smol-toml keeps it) instead of setting the object's prototype; a repeated key keeps its last value.
 */
function valueOf(node: Node): unknown {
  if (node.type === "array") return (node.children ?? []).map(valueOf);
  if (node.type !== "object") return node.value as unknown;
  const table: Record<string, unknown> = {};
  for (const property of node.children ?? []) {
    const [key, value] = property.children ?? [];
    if (key === undefined || value === undefined) continue;
    Object.defineProperty(table, key.value as string, { value: valueOf(value), enumerable: true, writable: true, configurable: true });
  }
  return table;
}

function parseTomlText(text: string, fileName: string, file: string): unknown {
  try {
    return plain(parseToml(text));
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    // smol-toml's message is "Invalid TOML document: <problem>\n\n<code block>"; keep the problem.
    const problem = error.message.replace(/^Invalid TOML document: /, "").split("\n\n")[0] ?? error.message;
    throw new ConfigError(`${fileName}:${error.line}:${error.column}: ${problem}`, {
      file,
      line: error.line,
      column: error.column,
      cause: error,
    });
  }
}

/** smol-toml returns null-prototype tables; copy them into plain objects so both formats compare equal. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Date || typeof value !== "object" || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    Object.defineProperty(copy, key, { value: plain(item), enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/** 1-based line and column of a character offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let index = 0; index < offset && index < text.length; index++) {
    if (text.charCodeAt(index) === 10) {
      line++;
      lineStart = index + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
