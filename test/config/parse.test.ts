import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadProjectConfig } from "../../src/config/load.ts";
import { parseConfigText, readConfigFile } from "../../src/config/parse.ts";
import { configError, useProjectDirs } from "./fixture.ts";

const project = useProjectDirs();

describe("parsing JSONC", () => {
  it('keeps a "__proto__" key as a key, as TOML does, instead of setting the prototype', () => {
    const raw = parseConfigText('{ "vars": { "__proto__": { "polluted": true }, "A": "1" } }', "wrangler.jsonc", "jsonc");
    const vars = raw.vars as Record<string, unknown>;
    expect(Object.keys(vars)).toEqual(["__proto__", "A"]);
    expect(Object.getPrototypeOf(vars)).toBe(Object.prototype);
    expect(parseConfigText('[vars]\n__proto__ = "x"\n', "wrangler.toml", "toml")).toEqual(
      parseConfigText('{ "vars": { "__proto__": "x" } }', "wrangler.jsonc", "jsonc"),
    );
  });

  it('refuses a var or binding named "__proto__", which env cannot hold, in both formats', () => {
    const problem = 'cannot be named "__proto__": env.__proto__ is the object\'s prototype in JavaScript, not a value it can hold; use another name';
    const load = (files: Record<string, string>, name: string) => configError(() => loadProjectConfig({ path: join(project(files), name) })).message;
    expect(load({ "wrangler.jsonc": '{\n  "vars": {\n    "A": "1",\n    "__proto__": "x"\n  }\n}\n' }, "wrangler.jsonc")).toBe(
      `wrangler.jsonc:4: vars.__proto__ ${problem}`,
    );
    expect(load({ "wrangler.toml": '[vars]\n__proto__ = "x"\n' }, "wrangler.toml")).toBe(`wrangler.toml:2: vars.__proto__ ${problem}`);
    expect(load({ "wrangler.jsonc": '{ "kv_namespaces": [{ "binding": "__proto__" }] }' }, "wrangler.jsonc")).toBe(
      `wrangler.jsonc:1: kv_namespaces[0].binding ${problem}`,
    );
  });

  it("accepts comments and trailing commas", () => {
    const text = [
      "// a project",
      "{",
      '  "name": "app", /* inline */',
      '  "compatibility_flags": ["nodejs_compat",],',
      '  "kv_namespaces": [{ "binding": "CACHE", },],',
      "}",
    ].join("\n");
    expect(parseConfigText(text, "wrangler.jsonc", "jsonc")).toEqual({
      name: "app",
      compatibility_flags: ["nodejs_compat"],
      kv_namespaces: [{ binding: "CACHE" }],
    });
  });

  it("reads wrangler.json as JSONC too, as wrangler does", () => {
    const dir = project({ "wrangler.json": '{ "name": "app", // comment\n }' });
    expect(readConfigFile(join(dir, "wrangler.json")).raw).toEqual({ name: "app" });
  });

  it("skips a byte-order mark", () => {
    expect(parseConfigText('\uFEFF{ "name": "app" }', "wrangler.json", "jsonc")).toEqual({ name: "app" });
  });

  it("reports a missing comma with file, line and column", () => {
    const text = '{\n  "name": "app"\n  "main": "src/index.ts"\n}';
    const error = configError(() => parseConfigText(text, "wrangler.jsonc", "jsonc"));
    expect(error.message).toBe("wrangler.jsonc:3:3: expected a comma");
    expect(error.line).toBe(3);
    expect(error.column).toBe(3);
  });

  it.each([
    ['{ "name": }', "wrangler.jsonc:1:11: expected a value"],
    ['{ "name": "app" ', "wrangler.jsonc:1:17: expected a closing brace }"],
    ['{ "name" "app" }', "wrangler.jsonc:1:10: expected a colon"],
    ['{ name: "app" }', "wrangler.jsonc:1:3: unexpected character"],
    ['{ "a": 1, , }', "wrangler.jsonc:1:11: expected a property name in double quotes"],
    ['{ "name": "app }', "wrangler.jsonc:1:11: unterminated string"],
    ['{ "a": [1, 2 }', "wrangler.jsonc:1:14: expected a comma"],
    ['{ "a": 1 } }', "wrangler.jsonc:1:12: expected the end of the file"],
    ["{ /* open", "wrangler.jsonc:1:3: unterminated comment"],
  ])("reports %j as %j", (text, message) => {
    expect(configError(() => parseConfigText(text, "wrangler.jsonc", "jsonc")).message).toBe(message);
  });

  it("requires an object at the top level", () => {
    expect(configError(() => parseConfigText("[1]", "wrangler.jsonc", "jsonc")).message).toBe(
      "wrangler.jsonc: the top level must be an object of settings (got an array)",
    );
  });

  it("names the file of a syntax error found while loading", () => {
    const dir = project({ "wrangler.jsonc": '{\n  "name": "app",\n  "main": src/index.ts\n}' });
    const error = configError(() => loadProjectConfig({ path: join(dir, "wrangler.jsonc") }));
    expect(error.message).toBe("wrangler.jsonc:3:11: unexpected character");
    expect(error.file).toBe(join(dir, "wrangler.jsonc"));
  });
});

describe("parsing TOML", () => {
  it("reads tables, arrays of tables and inline tables into plain objects", () => {
    const text = [
      'name = "app"',
      "[vars]",
      'GREETING = "hi"',
      "LIMITS = { max = 3 }",
      "[[kv_namespaces]]",
      'binding = "CACHE"',
    ].join("\n");
    const raw = parseConfigText(text, "wrangler.toml", "toml");
    expect(raw).toEqual({ name: "app", vars: { GREETING: "hi", LIMITS: { max: 3 } }, kv_namespaces: [{ binding: "CACHE" }] });
    expect(Object.getPrototypeOf(raw.vars)).toBe(Object.prototype);
  });

  it("reports a syntax error with file, line and column", () => {
    const error = configError(() => parseConfigText('name = "app"\nmain = \n', "wrangler.toml", "toml"));
    expect(error.message).toMatch(/^wrangler\.toml:2:8: /);
    expect(error.line).toBe(2);
    expect(error.column).toBe(8);
    expect(error.message).not.toContain("Invalid TOML document");
    expect(error.message).not.toContain("\n");
  });

  it("reports a duplicate key", () => {
    const error = configError(() => parseConfigText('name = "a"\nname = "b"\n', "wrangler.toml", "toml"));
    expect(error.message).toMatch(/^wrangler\.toml:2:\d+: /);
  });
});

describe("reading config files", () => {
  it("says when the file does not exist", () => {
    const dir = project();
    const path = join(dir, "wrangler.toml");
    expect(configError(() => readConfigFile(path)).message).toBe(`${path}: cannot read the config file (no such file)`);
  });

  it("refuses an unknown extension", () => {
    expect(configError(() => readConfigFile("/tmp/wrangler.yaml")).message).toBe(
      'wrangler.yaml: unknown config format ".yaml" (use .jsonc, .json or .toml)',
    );
  });
});
