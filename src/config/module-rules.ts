/**
 * wrangler's module `rules`: which imports load as text, bytes or compiled WebAssembly rather than as
 * code. Reading them from the config, and the defaults and `fallthrough` as wrangler applies them
 * (workers-sdk's `deployment-bundle/rules.ts`).
 * @module
 */
import type { KeyPath } from "./key-path.ts";
import { describeValue, type CheckContext, fail, optionalBoolean, tablesOf, warnUnknownKeys } from "./read.ts";
import type { ModuleRuleConfig, ModuleRuleType } from "./types.ts";

/** The rule types wrangler's config accepts. */
export const MODULE_RULE_TYPES: readonly ModuleRuleType[] = ["ESModule", "CommonJS", "CompiledWasm", "Text", "Data", "PythonModule", "PythonRequirement"];

/** wrangler's default rules: they apply to every project, after the config's own. */
export const DEFAULT_MODULE_RULES: readonly ModuleRuleConfig[] = [
  { type: "Text", globs: ["**/*.txt", "**/*.html", "**/*.sql"] },
  { type: "Data", globs: ["**/*.bin"] },
  { type: "CompiledWasm", globs: ["**/*.wasm", "**/*.wasm?module"] },
];

/** The rules that apply, those left out, and what to tell the user about the latter. */
export interface ModuleRulesPlan {
  /** In order: the first whose glob matches an import decides its type. */
  rules: ModuleRuleConfig[];
  /** Left out because an earlier rule of their type has no `fallthrough: true`: an import matching one fails. */
  ignored: Array<{ rule: ModuleRuleConfig; why: string }>;
  warnings: string[];
}

/**
 * The config's rules followed by the defaults. The first rule of a type without `fallthrough: true`
 * is that type's last: later ones of the type are left out, with a warning, unless that rule says
 * `fallthrough: false`, which leaves the defaults out silently (the user opted out of them).
 * @example
 * planModuleRules([{ type: "Text", globs: ["**\/*.md"], fallthrough: true }]).rules; // the .md rule, then the three defaults
 */
export function planModuleRules(userRules: readonly ModuleRuleConfig[] = []): ModuleRulesPlan {
  const closedBy = new Map<string, ModuleRuleConfig>();
  const leftOut = new Map<ModuleRuleConfig, ModuleRuleConfig[]>();
  const rules: ModuleRuleConfig[] = [];
  const ignored: ModuleRulesPlan["ignored"] = [];
  [...userRules, ...DEFAULT_MODULE_RULES].forEach((rule, index) => {
    const closing = closedBy.get(rule.type);
    if (closing === undefined) {
      rules.push(rule);
      if (rule.fallthrough !== true) closedBy.set(rule.type, rule);
      return;
    }
    const isDefault = index >= userRules.length;
    if (closing.fallthrough === false && isDefault) return;
    const which = isDefault ? "default " : "";
    const why = `it matches the ${which}module rule ${describeRule(rule)}, which is not applied: the rule ${describeRule(closing)} before it has no "fallthrough": true (add that to apply the rules after it)`;
    ignored.push({ rule, why });
    if (closing.fallthrough !== false) leftOut.set(closing, [...(leftOut.get(closing) ?? []), rule]);
  });
  const warnings = [...leftOut].map(([closing, after]) => {
    const which = userRules.includes(closing) ? "" : "default ";
    const listed = after.map((rule) => `${describeRule(rule)}${userRules.includes(rule) ? "" : " (a default)"}`).join(", ");
    return (
      `the ${which}module rule ${describeRule(closing)} has no "fallthrough": true, so the rules of its type after it are ignored: ` +
      `${listed}. Add "fallthrough": true to it to apply them, or "fallthrough": false to silence this warning`
    );
  });
  return { rules, ignored, warnings };
}

/** A rule as written in the config, for messages. */
export function describeRule(rule: ModuleRuleConfig): string {
  return JSON.stringify({ type: rule.type, globs: rule.globs, ...(rule.fallthrough !== undefined ? { fallthrough: rule.fallthrough } : {}) });
}

/**
 * `rules[]`: `{ type, globs, fallthrough? }`, as written; what the defaults and `fallthrough` leave
 * out gets a warning. Python rules are kept out with a warning: Hearth runs JavaScript workers only.
 *
 * @throws {ConfigError} for an unknown type, or globs that are not a list of strings.
 */
export function readModuleRules(ctx: CheckContext, value: unknown, at: KeyPath): ModuleRuleConfig[] {
  const rules: ModuleRuleConfig[] = [];
  for (const { table, at: item } of tablesOf(ctx, value, at)) {
    warnUnknownKeys(ctx, table, ["type", "globs", "fallthrough"], item);
    const type = table.type;
    if (typeof type !== "string" || !(MODULE_RULE_TYPES as readonly string[]).includes(type)) {
      fail(ctx, [...item, "type"], `must be one of ${MODULE_RULE_TYPES.join(", ")} (got ${describeValue(type)})`);
    }
    const globs = table.globs;
    if (!Array.isArray(globs) || globs.some((glob) => typeof glob !== "string" || glob === "")) {
      fail(ctx, [...item, "globs"], `must be an array of glob strings such as ["**/*.md"] (got ${describeValue(globs)})`);
    }
    const fallthrough = optionalBoolean(ctx, table, "fallthrough", item);
    if (type === "PythonModule" || type === "PythonRequirement") {
      ctx.warnings.push(`${ctx.source.fileName}: the ${type} module rule is not applied: Hearth runs JavaScript and TypeScript workers only`);
      continue;
    }
    rules.push({ type: type as ModuleRuleType, globs: globs as string[], ...(fallthrough !== undefined ? { fallthrough } : {}) });
  }
  for (const warning of planModuleRules(rules).warnings) ctx.warnings.push(`${ctx.source.fileName}: ${warning}`);
  return rules;
}
