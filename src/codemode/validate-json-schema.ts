/**
 * A small JSON Schema validator, used for tools whose schema carries no validator of its own (plain
 * `jsonSchema(...)` schemas, MCP tools). It checks the structural keywords a model gets wrong:
 * `type` (with `integer` and OpenAPI's `nullable`), `enum`, `const`, `properties`, `required`,
 * `additionalProperties`, `patternProperties`, `items`/`prefixItems`, `minItems`/`maxItems`,
 * `minLength`/`maxLength`, `pattern`, `minimum`/`maximum` (and exclusive forms), `anyOf`, `oneOf`,
 * `allOf`, `not` and local `$ref`s. `format` and other annotations are not checked.
 */
import { isSchema, recordOf, resolvePointer, schemaList, type JsonSchema } from "./declarations.ts";

type SchemaObject = { readonly [key: string]: unknown };

const MAX_ERRORS = 10;
const MAX_DEPTH = 64;

/**
 * Validates `value`; returns the problems found (at most ten), each as `path: message`, or an empty
 * list when the value matches.
 *
 * @example
 * ```ts
 * validateJsonSchema({ type: "object", properties: { n: { type: "integer" } }, required: ["n"] }, { n: 1.5 });
 * // ["input.n: expected integer, got number"]
 * ```
 */
export function validateJsonSchema(schema: JsonSchema, value: unknown, path = "input"): string[] {
  const errors: string[] = [];
  check(schema, value, path, schema, errors, 0);
  return errors.slice(0, MAX_ERRORS);
}

function check(schema: JsonSchema, value: unknown, path: string, root: JsonSchema, errors: string[], depth: number): void {
  if (errors.length >= MAX_ERRORS) return;
  if (schema === true) return;
  if (schema === false) return void errors.push(`${path}: not allowed`);
  if (depth > MAX_DEPTH) return void errors.push(`${path}: schema nested too deeply`);
  const ref = schema.$ref;
  if (typeof ref === "string") {
    const target = ref.startsWith("#") ? resolvePointer(root, ref.slice(1)) : undefined;
    if (target !== undefined) check(target, value, path, root, errors, depth + 1);
    if (!hasOtherKeywords(schema)) return;
  }
  if (value === null && schema.nullable === true) return;

  const types = typeList(schema.type);
  if (types.length > 0 && !types.some((t) => matchesType(t, value))) {
    return void errors.push(`${path}: expected ${types.join(" or ")}, got ${describe(value)}`);
  }
  if ("const" in schema && !deepEqual(schema.const, value)) {
    errors.push(`${path}: expected ${JSON.stringify(schema.const)}`);
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => deepEqual(e, value))) {
    errors.push(`${path}: expected one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`);
  }
  if (typeof value === "string") checkString(schema, value, path, errors);
  if (typeof value === "number") checkNumber(schema, value, path, errors);
  if (Array.isArray(value)) checkArray(schema, value, path, root, errors, depth);
  else if (typeof value === "object" && value !== null) checkObject(schema, value as Record<string, unknown>, path, root, errors, depth);

  for (const sub of schemaList(schema.allOf)) check(sub, value, path, root, errors, depth + 1);
  // Each option is checked once, its problems kept for the message: checking again to explain a
  // failure doubled the work at every level of nested options.
  const anyOf = schemaList(schema.anyOf);
  if (anyOf.length > 0) {
    const failed: string[][] = [];
    for (const option of anyOf) {
      const problems = problemsOf(option, value, path, root, depth);
      if (problems.length === 0) break;
      failed.push(problems);
    }
    if (failed.length === anyOf.length) errors.push(`${path}: does not match any of the allowed shapes${closest(failed)}`);
  }
  const oneOf = schemaList(schema.oneOf);
  if (oneOf.length > 0) {
    const tried = oneOf.map((option) => problemsOf(option, value, path, root, depth));
    const count = tried.filter((problems) => problems.length === 0).length;
    if (count === 0) errors.push(`${path}: does not match any of the allowed shapes${closest(tried)}`);
    else if (count > 1) errors.push(`${path}: matches more than one of the allowed shapes`);
  }
  if (isSchema(schema.not) && matches(schema.not, value, root, depth)) errors.push(`${path}: matches a forbidden shape`);
}

function hasOtherKeywords(schema: SchemaObject): boolean {
  return Object.keys(schema).some((k) => k !== "$ref" && k !== "description" && k !== "title" && k !== "$defs" && k !== "definitions");
}

function matches(schema: JsonSchema, value: unknown, root: JsonSchema, depth: number): boolean {
  const errors: string[] = [];
  check(schema, value, "", root, errors, depth + 1);
  return errors.length === 0;
}

function problemsOf(schema: JsonSchema, value: unknown, path: string, root: JsonSchema, depth: number): string[] {
  const errors: string[] = [];
  check(schema, value, path, root, errors, depth + 1);
  return errors;
}

/** The closest option's first problem (of each option's problems), to make an `anyOf` failure actionable. */
function closest(tried: readonly string[][]): string {
  let best: readonly string[] | undefined;
  for (const problems of tried) if (best === undefined || problems.length < best.length) best = problems;
  return best?.[0] === undefined ? "" : ` (closest: ${best[0]})`;
}

function checkString(schema: SchemaObject, value: string, path: string, errors: string[]): void {
  const length = [...value].length;
  if (typeof schema.minLength === "number" && length < schema.minLength) errors.push(`${path}: shorter than ${schema.minLength} characters`);
  if (typeof schema.maxLength === "number" && length > schema.maxLength) errors.push(`${path}: longer than ${schema.maxLength} characters`);
  if (typeof schema.pattern === "string") {
    let re: RegExp | undefined;
    try {
      re = new RegExp(schema.pattern, "u");
    } catch {
      re = undefined;
    }
    if (re !== undefined && !re.test(value)) errors.push(`${path}: does not match the pattern ${schema.pattern}`);
  }
}

function checkNumber(schema: SchemaObject, value: number, path: string, errors: string[]): void {
  if (typeof schema.minimum === "number" && value < schema.minimum) errors.push(`${path}: less than ${schema.minimum}`);
  if (typeof schema.maximum === "number" && value > schema.maximum) errors.push(`${path}: greater than ${schema.maximum}`);
  if (typeof schema.exclusiveMinimum === "number" && value <= schema.exclusiveMinimum) errors.push(`${path}: not greater than ${schema.exclusiveMinimum}`);
  if (typeof schema.exclusiveMaximum === "number" && value >= schema.exclusiveMaximum) errors.push(`${path}: not less than ${schema.exclusiveMaximum}`);
}

function checkArray(schema: SchemaObject, value: unknown[], path: string, root: JsonSchema, errors: string[], depth: number): void {
  if (typeof schema.minItems === "number" && value.length < schema.minItems) errors.push(`${path}: fewer than ${schema.minItems} items`);
  if (typeof schema.maxItems === "number" && value.length > schema.maxItems) errors.push(`${path}: more than ${schema.maxItems} items`);
  const tuple = Array.isArray(schema.prefixItems) ? schemaList(schema.prefixItems) : Array.isArray(schema.items) ? schemaList(schema.items) : [];
  const rest = Array.isArray(schema.prefixItems) ? schema.items : Array.isArray(schema.items) ? schema.additionalItems : schema.items;
  value.forEach((item, i) => {
    const sub = i < tuple.length ? tuple[i] : rest;
    if (isSchema(sub)) check(sub, item, `${path}[${i}]`, root, errors, depth + 1);
  });
}

function checkObject(schema: SchemaObject, value: Record<string, unknown>, path: string, root: JsonSchema, errors: string[], depth: number): void {
  const properties = recordOf(schema.properties);
  if (Array.isArray(schema.required)) {
    for (const key of schema.required) {
      if (typeof key === "string" && !Object.hasOwn(value, key)) errors.push(`${path}: missing required property ${JSON.stringify(key)}`);
    }
  }
  const patterns = Object.entries(recordOf(schema.patternProperties)).flatMap(([p, s]) => {
    try {
      return isSchema(s) ? [[new RegExp(p, "u"), s] as const] : [];
    } catch {
      return [];
    }
  });
  for (const key of Object.keys(value)) {
    const child = `${path}.${key}`;
    const prop = properties[key];
    let known = false;
    if (Object.hasOwn(properties, key) && isSchema(prop)) {
      known = true;
      check(prop, value[key], child, root, errors, depth + 1);
    }
    for (const [re, sub] of patterns) {
      if (re.test(key)) {
        known = true;
        check(sub, value[key], child, root, errors, depth + 1);
      }
    }
    if (!known && isSchema(schema.additionalProperties)) {
      if (schema.additionalProperties === false) errors.push(`${child}: unknown property`);
      else check(schema.additionalProperties, value[key], child, root, errors, depth + 1);
    }
  }
}

function typeList(type: unknown): string[] {
  if (typeof type === "string") return [type];
  return Array.isArray(type) ? type.filter((t): t is string => typeof t === "string") : [];
}

function matchesType(type: string, value: unknown): boolean {
  switch (type) {
    case "string": return typeof value === "string";
    case "number": return typeof value === "number" && Number.isFinite(value);
    case "integer": return typeof value === "number" && Number.isInteger(value);
    case "boolean": return typeof value === "boolean";
    case "null": return value === null;
    case "array": return Array.isArray(value);
    case "object": return typeof value === "object" && value !== null && !Array.isArray(value);
    default: return true;
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number" && !Number.isInteger(value)) return "number";
  if (typeof value === "number") return "integer";
  return typeof value;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

