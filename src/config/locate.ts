import { findNodeAtLocation, parseTree, type Node } from "jsonc-parser";
import { formatKeyPath, type KeyPath } from "./key-path.ts";
import { tomlKeyLines } from "./locate-toml.ts";
import { lineAndColumn, type ConfigSource } from "./parse.ts";

// Built once per source, on the first lookup (most loads never need a line).
const jsonTrees = new WeakMap<ConfigSource, Node | undefined>();
const tomlLines = new WeakMap<ConfigSource, Map<string, number>>();

/**
 * The 1-based line of the key at `path` in the config file, or of its nearest enclosing key
 * when the key itself is not written there (a missing required field points at its table).
 * Undefined when not even the first segment is found.
 *
 * @example
 * lineOf(source, ["env", "staging", "r2_buckets", 0, "binding"]); // 14
 */
export function lineOf(source: ConfigSource, path: KeyPath): number | undefined {
  return source.format === "toml" ? tomlLineOf(source, path) : jsonLineOf(source, path);
}

/**
 * `wrangler.jsonc:14`: where the key at `path` is declared, for messages and
 * {@link UnsupportedBinding.where}; just the file name when the line is unknown.
 *
 * @example
 * whereOf(source, ["r2_buckets", 0]); // "wrangler.toml:9"
 */
export function whereOf(source: ConfigSource, path: KeyPath): string {
  const line = lineOf(source, path);
  return line === undefined ? source.fileName : `${source.fileName}:${line}`;
}

function jsonLineOf(source: ConfigSource, path: KeyPath): number | undefined {
  if (!jsonTrees.has(source)) jsonTrees.set(source, parseTree(source.text, [], { allowTrailingComma: true }));
  const root = jsonTrees.get(source);
  if (root === undefined) return undefined;
  for (let length = path.length; length > 0; length--) {
    const node = findNodeAtLocation(root, [...path.slice(0, length)]);
    if (node === undefined) continue;
    // A property's value: point at its key, where people look.
    const offset = node.parent?.type === "property" ? node.parent.offset : node.offset;
    return lineAndColumn(source.text, offset).line;
  }
  return undefined;
}

function tomlLineOf(source: ConfigSource, path: KeyPath): number | undefined {
  let lines = tomlLines.get(source);
  if (lines === undefined) {
    lines = tomlKeyLines(source.text);
    tomlLines.set(source, lines);
  }
  for (let length = path.length; length > 0; length--) {
    const line = lines.get(formatKeyPath(path.slice(0, length)));
    if (line !== undefined) return line;
  }
  return undefined;
}
