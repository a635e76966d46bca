import { describe, expect, it } from "vitest";
import { DEFAULT_MODULE_RULES, planModuleRules } from "../../src/config/module-rules.ts";
import type { ModuleRuleConfig } from "../../src/config/types.ts";
import { configError, loadJson, useProjectDirs } from "./fixture.ts";

const project = useProjectDirs();

const [TEXT, DATA, WASM] = DEFAULT_MODULE_RULES as [ModuleRuleConfig, ModuleRuleConfig, ModuleRuleConfig];

describe("wrangler's default module rules", () => {
  it("are Text for .txt, .html and .sql, Data for .bin, CompiledWasm for .wasm and .wasm?module", () => {
    expect(DEFAULT_MODULE_RULES).toEqual([
      { type: "Text", globs: ["**/*.txt", "**/*.html", "**/*.sql"] },
      { type: "Data", globs: ["**/*.bin"] },
      { type: "CompiledWasm", globs: ["**/*.wasm", "**/*.wasm?module"] },
    ]);
    expect(planModuleRules()).toEqual({ rules: [TEXT, DATA, WASM], ignored: [], warnings: [] });
  });
});

describe("planModuleRules: the config's rules, then the defaults, with fallthrough", () => {
  it("puts the config's rules first; fallthrough = true keeps the default of the type", () => {
    const markdown: ModuleRuleConfig = { type: "Text", globs: ["**/*.md"], fallthrough: true };
    expect(planModuleRules([markdown])).toEqual({ rules: [markdown, TEXT, DATA, WASM], ignored: [], warnings: [] });
  });

  it("leaves the later rules of a type out, with a warning, after a rule without fallthrough", () => {
    const markdown: ModuleRuleConfig = { type: "Text", globs: ["**/*.md"] };
    const plan = planModuleRules([markdown]);
    expect(plan.rules).toEqual([markdown, DATA, WASM]);
    expect(plan.ignored.map(({ rule }) => rule)).toEqual([TEXT]);
    expect(plan.ignored[0]?.why).toBe(
      'it matches the default module rule {"type":"Text","globs":["**/*.txt","**/*.html","**/*.sql"]}, which is not applied: ' +
        'the rule {"type":"Text","globs":["**/*.md"]} before it has no "fallthrough": true (add that to apply the rules after it)',
    );
    expect(plan.warnings).toEqual([
      'the module rule {"type":"Text","globs":["**/*.md"]} has no "fallthrough": true, so the rules of its type after it are ignored: ' +
        '{"type":"Text","globs":["**/*.txt","**/*.html","**/*.sql"]} (a default). Add "fallthrough": true to it to apply them, or "fallthrough": false to silence this warning',
    ]);
  });

  it("drops the defaults silently after fallthrough = false, but not the config's own later rules", () => {
    const bytes: ModuleRuleConfig = { type: "Data", globs: ["**/*.dat"], fallthrough: false };
    const more: ModuleRuleConfig = { type: "Data", globs: ["**/*.raw"] };
    expect(planModuleRules([bytes])).toEqual({ rules: [bytes, TEXT, WASM], ignored: [], warnings: [] });
    const plan = planModuleRules([bytes, more]);
    expect(plan.ignored.map(({ rule }) => rule)).toEqual([more]);
    // fallthrough = false asks for silence: no warning, but an import by the rule left out still fails.
    expect(plan.warnings).toEqual([]);
  });

  it("closes a type at its first rule without fallthrough, several rules with it before", () => {
    const one: ModuleRuleConfig = { type: "CompiledWasm", globs: ["**/*.w1"], fallthrough: true };
    const two: ModuleRuleConfig = { type: "CompiledWasm", globs: ["**/*.w2"] };
    const plan = planModuleRules([one, two]);
    expect(plan.rules).toEqual([one, two, TEXT, DATA]);
    expect(plan.ignored.map(({ rule }) => rule)).toEqual([WASM]);
  });
});

describe("rules in the wrangler config", () => {
  it("are read as written, in order, inherited by environments", () => {
    const rules = [
      { type: "Text", globs: ["**/*.md"], fallthrough: true },
      { type: "ESModule", globs: ["**/*.js"] },
    ];
    const dir = project();
    const config = loadJson(dir, { rules, env: { staging: {} } });
    expect(config.moduleRules).toEqual(rules);
    expect(config.warnings).toEqual([]);
    expect(loadJson(dir, { rules, env: { staging: {} } }, "staging").moduleRules).toEqual(rules);
  });

  it("warn, naming the file, of rules that fallthrough leaves out", () => {
    const config = loadJson(project(), { rules: [{ type: "Text", globs: ["**/*.md"] }] });
    expect(config.warnings).toEqual([expect.stringMatching(/^wrangler\.jsonc: the module rule \{"type":"Text","globs":\["\*\*\/\*\.md"\]\} has no "fallthrough": true/)]);
  });

  it("keep Python rules out, with a warning", () => {
    const config = loadJson(project(), { rules: [{ type: "PythonModule", globs: ["**/*.py"] }] });
    expect(config.moduleRules).toEqual([]);
    expect(config.warnings).toEqual(["wrangler.jsonc: the PythonModule module rule is not applied: Hearth runs JavaScript and TypeScript workers only"]);
  });

  it("refuse an unknown type, globs that are not strings, and a fallthrough that is not a boolean", () => {
    expect(configError(() => loadJson(project(), { rules: [{ type: "Json", globs: ["**/*.json"] }] })).message).toBe(
      'wrangler.jsonc:4: rules[0].type must be one of ESModule, CommonJS, CompiledWasm, Text, Data, PythonModule, PythonRequirement (got "Json")',
    );
    expect(configError(() => loadJson(project(), { rules: [{ type: "Text", globs: "**/*.md" }] })).message).toBe(
      'wrangler.jsonc:5: rules[0].globs must be an array of glob strings such as ["**/*.md"] (got "**/*.md")',
    );
    expect(configError(() => loadJson(project(), { rules: [{ type: "Text", globs: ["**/*.md"], fallthrough: "yes" }] })).message).toBe(
      'wrangler.jsonc:8: rules[0].fallthrough must be true or false (got "yes")',
    );
  });
});
