import { describe, expect, it } from "vitest";
import { formatKeyPath } from "../../src/config/key-path.ts";
import { lineOf, whereOf } from "../../src/config/locate.ts";
import { tomlKeyLines } from "../../src/config/locate-toml.ts";
import { parseConfigText, type ConfigSource } from "../../src/config/parse.ts";

function source(fileName: string, text: string): ConfigSource {
  const format = fileName.endsWith(".toml") ? "toml" : "jsonc";
  return { path: `/p/${fileName}`, fileName, format, text, raw: parseConfigText(text, fileName, format) };
}

describe("formatKeyPath", () => {
  it("writes paths as people do, quoting keys that are not plain words", () => {
    expect(formatKeyPath(["env", "staging", "ratelimits", 0, "simple", "period"])).toBe("env.staging.ratelimits[0].simple.period");
    expect(formatKeyPath(["vars", "a.b"])).toBe('vars["a.b"]');
    expect(formatKeyPath([])).toBe("");
  });
});

describe("finding the line of a key in TOML", () => {
  const text = [
    '"$schema" = "x" # [not a header]', // 1
    'name = """', // 2
    "kv_namespaces = [ { binding = 'FAKE' } ]", // 3 (inside a multi-line string)
    '"""', // 4
    "triggers.crons = [", // 5
    '  "0 * * * *", # hourly', // 6
    '  "0 0 * * *",', // 7
    "]", // 8
    "[[ratelimits]]", // 9
    'name = "A"', // 10
    "[ratelimits.simple]", // 11
    "limit = 1", // 12
    "period = 10", // 13
    "[[ratelimits]]", // 14
    'name = "B"', // 15
    "simple = { limit = 2, period = 60 }", // 16
    "[ env . 'staging' ]", // 17
    'vars = { "MODE" = "s" }', // 18
  ].join("\n");
  const lines = tomlKeyLines(text);

  it("skips strings and comments that look like keys or headers", () => {
    expect(lines.get("name")).toBe(2);
    expect(lines.has("kv_namespaces")).toBe(false);
  });

  it("follows dotted keys and the elements of multi-line arrays", () => {
    expect(lines.get("triggers.crons")).toBe(5);
    expect(lines.get("triggers.crons[0]")).toBe(6);
    expect(lines.get("triggers.crons[1]")).toBe(7);
  });

  it("numbers arrays of tables, and puts [x.y] under the last [[x]]", () => {
    expect(lines.get("ratelimits[0]")).toBe(9);
    expect(lines.get("ratelimits[0].name")).toBe(10);
    expect(lines.get("ratelimits[0].simple.period")).toBe(13);
    expect(lines.get("ratelimits[1].name")).toBe(15);
    expect(lines.get("ratelimits[1].simple.period")).toBe(16);
  });

  it("reads quoted and spaced header keys and inline tables", () => {
    expect(lines.get("env.staging")).toBe(17);
    expect(lines.get("env.staging.vars.MODE")).toBe(18);
  });

  it("falls back to the nearest enclosing key, and to the file alone", () => {
    const toml = source("wrangler.toml", text);
    expect(lineOf(toml, ["ratelimits", 1, "namespace_id"])).toBe(14);
    expect(whereOf(toml, ["ratelimits", 0, "simple", "limit"])).toBe("wrangler.toml:12");
    expect(lineOf(toml, ["missing", "key"])).toBeUndefined();
    expect(whereOf(toml, ["missing"])).toBe("wrangler.toml");
  });
});

describe("finding the line of a key in JSONC", () => {
  const text = [
    "{", // 1
    "  // comment", // 2
    '  "kv_namespaces": [', // 3
    '    { "binding": "A" },', // 4
    "    {", // 5
    '      "binding": "B",', // 6
    "    },", // 7
    "  ],", // 8
    "}", // 9
  ].join("\n");
  const json = source("wrangler.jsonc", text);

  it("points at the key of a property and at the start of an element", () => {
    expect(lineOf(json, ["kv_namespaces"])).toBe(3);
    expect(lineOf(json, ["kv_namespaces", 0, "binding"])).toBe(4);
    expect(lineOf(json, ["kv_namespaces", 1])).toBe(5);
    expect(lineOf(json, ["kv_namespaces", 1, "binding"])).toBe(6);
    expect(lineOf(json, ["kv_namespaces", 1, "id"])).toBe(5);
    expect(lineOf(json, ["d1_databases"])).toBeUndefined();
  });
});
