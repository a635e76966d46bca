/**
 * A small JSON Schema validator, used for tools whose schema carries no validator of its own (plain
 * `jsonSchema(...)` schemas, MCP tools). It checks the structural keywords a model gets wrong:
 * `type` (with `integer` and OpenAPI's `nullable`), `enum`, `const`, `properties`, `required`,
 * `additionalProperties`, `patternProperties`, `items`/`prefixItems`, `minItems`/`maxItems`,
 * `minLength`/`maxLength`, `pattern`, `minimum`/`maximum` (and exclusive forms), `anyOf`, `oneOf`,
 * `allOf`, `not` and local `$ref`s. `format` and other annotations are not checked.
 */
import { isSchema, recordOf, resolvePointer, schemaList, type JsonSchema } from "./declarations.ts";
import { MAX_VALIDATION_CHECKS, MAX_VALIDATION_CHECKS_PER_VALUE, MAX_VALIDATION_DEPTH } from "./limits.ts";

type SchemaObject = { readonly [key: string]: unknown };

const MAX_ERRORS = 10;

/**
 * Most schema steps (`$ref`, `allOf`, an `anyOf`/`oneOf` option, `not`) taken at one place of the
 * input without a step into it: the bound on `$ref` cycles (`a: { $ref: "#/$defs/a" }`), which
 * consume no input. Steps into the input are bounded by MAX_VALIDATION_DEPTH.
 */
const MAX_SCHEMA_STEPS = 32;

/**
 * Most input values counted to set the overall budget: more than any input the host's message
 * limit lets through (8 MiB), and a bound on the count of an input whose objects are shared.
 */
const MAX_COUNTED_VALUES = 16_000_000;

/** Thrown past a budget, caught by validateJsonSchema: the whole validation stops. `message`: the problem reported. */
class TooComplex extends Error {}

/** Where problems go: at most `max` (an option of a union stops at its first); `depth` is the input depth of the first. */
interface Sink {
  readonly errors: string[];
  readonly max: number;
  depth: number;
}

/**
 * One validation: the root its `$ref`s resolve against; the checks made so far, all of them and
 * those made trying an option of `anyOf`/`oneOf`/`not`; the overall budget; and how many options
 * are being tried (nested) at the current check.
 */
interface Run {
  readonly root: JsonSchema;
  checks: number;
  optionChecks: number;
  /** MAX_VALIDATION_CHECKS until reached; then the input's values are counted (once) and it may grow. */
  maxChecks: number;
  counted: boolean;
  readonly value: unknown;
  trying: number;
}

/**
 * Validates `value`; returns the problems found (at most ten), each as `path: message`, or an empty
 * list when the value matches. The work is bounded: an option of `anyOf`/`oneOf` (and `not`) is
 * checked only until its first problem; the checks (one value against one schema) made while trying
 * options are at most MAX_VALIDATION_CHECKS, and all the checks at most MAX_VALIDATION_CHECKS_PER_VALUE
 * per value of the input (at least MAX_VALIDATION_CHECKS); past either the input is refused as too
 * complex. A plain validation (no options tried) checks each value against a few schemas, so no
 * input is refused for its size alone.
 *
 * @example
 * ```ts
 * validateJsonSchema({ type: "object", properties: { n: { type: "integer" } }, required: ["n"] }, { n: 1.5 });
 * // ["input.n: expected integer, got number"]
 * ```
 */
export function validateJsonSchema(schema: JsonSchema, value: unknown, path = "input"): string[] {
  const sink: Sink = { errors: [], max: MAX_ERRORS, depth: 0 };
  try {
    check(schema, value, path, { root: schema, checks: 0, optionChecks: 0, maxChecks: MAX_VALIDATION_CHECKS, counted: false, value, trying: 0 }, sink, 0, 0);
  } catch (error) {
    if (!(error instanceof TooComplex)) throw error;
    return [`${path}: too complex to validate: ${error.message}`];
  }
  return sink.errors;
}

/**
 * The first time the checks reach MAX_VALIDATION_CHECKS: the input's values are counted (a walk an
 * ordinary input never pays) and the bound becomes MAX_VALIDATION_CHECKS_PER_VALUE per value.
 */
function moreRoom(run: Run): boolean {
  if (run.counted) return false;
  run.counted = true;
  run.maxChecks = Math.max(MAX_VALIDATION_CHECKS, MAX_VALIDATION_CHECKS_PER_VALUE * countValues(run.value));
  return run.checks <= run.maxChecks;
}

/** The values of `value` (itself, and those in it down to the depth checked), up to MAX_COUNTED_VALUES. */
function countValues(value: unknown): number {
  let count = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0 && count < MAX_COUNTED_VALUES) {
    const [v, depth] = stack.pop()!;
    count++;
    if (typeof v !== "object" || v === null || depth > MAX_VALIDATION_DEPTH) continue;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return count;
}

function add(sink: Sink, depth: number, problem: string): void {
  if (sink.errors.length >= sink.max) return;
  if (sink.errors.length === 0) sink.depth = depth;
  sink.errors.push(problem);
}

function full(sink: Sink): boolean {
  return sink.errors.length >= sink.max;
}

/**
 * Checks `value` against `schema`. `depth`: how deep `value` sits in the input (objects and arrays
 * stepped into); `steps`: schema steps taken at this place of the input.
 */
function check(schema: JsonSchema, value: unknown, path: string, run: Run, sink: Sink, depth: number, steps: number): void {
  if (full(sink)) return;
  if (run.trying > 0 && ++run.optionChecks > MAX_VALIDATION_CHECKS) {
    throw new TooComplex(`more than MAX_VALIDATION_CHECKS (${MAX_VALIDATION_CHECKS}) checks against the schema`);
  }
  if (++run.checks > run.maxChecks && !moreRoom(run)) {
    throw new TooComplex(`more than ${run.maxChecks} checks against the schema (MAX_VALIDATION_CHECKS_PER_VALUE: ${MAX_VALIDATION_CHECKS_PER_VALUE} per value of the input)`);
  }
  if (schema === true) return;
  if (schema === false) return add(sink, depth, `${path}: not allowed`);
  if (depth > MAX_VALIDATION_DEPTH) return add(sink, depth, `${path}: nested more than ${MAX_VALIDATION_DEPTH} levels deep`);
  if (steps > MAX_SCHEMA_STEPS) return add(sink, depth, `${path}: the schema's references go round in a cycle here (${MAX_SCHEMA_STEPS} steps without reading further into the input)`);
  const ref = schema.$ref;
  if (typeof ref === "string") {
    const target = ref.startsWith("#") ? resolvePointer(run.root, ref.slice(1)) : undefined;
    if (target !== undefined) check(target, value, path, run, sink, depth, steps + 1);
    if (!hasOtherKeywords(schema) || full(sink)) return;
  }
  if (value === null && schema.nullable === true) return;

  const types = typeList(schema.type);
  if (types.length > 0 && !types.some((t) => matchesType(t, value))) {
    return add(sink, depth, `${path}: expected ${types.join(" or ")}, got ${describe(value)}`);
  }
  if ("const" in schema && !deepEqual(schema.const, value)) {
    add(sink, depth, `${path}: expected ${JSON.stringify(schema.const)}`);
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => deepEqual(e, value))) {
    add(sink, depth, `${path}: expected one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`);
  }
  if (typeof value === "string") checkString(schema, value, path, sink, depth);
  if (typeof value === "number") checkNumber(schema, value, path, sink, depth);
  if (Array.isArray(value)) checkArray(schema, value, path, run, sink, depth);
  else if (typeof value === "object" && value !== null) checkObject(schema, value as Record<string, unknown>, path, run, sink, depth);

  for (const sub of schemaList(schema.allOf)) {
    if (full(sink)) return;
    check(sub, value, path, run, sink, depth, steps + 1);
  }
  // Each option is checked once and only to its first problem (enough to know it fails, and to
  // tell how far into the value it got): checking an option through, or again to explain a
  // failure, multiplied the work at every level of nested options.
  const anyOf = schemaList(schema.anyOf);
  if (anyOf.length > 0 && !full(sink)) {
    const failed: Sink[] = [];
    for (const option of anyOf) {
      const tried = attempt(option, value, path, run, depth, steps);
      if (tried.errors.length === 0) break;
      failed.push(tried);
    }
    if (failed.length === anyOf.length) add(sink, depth, `${path}: does not match any of the allowed shapes${closest(failed)}`);
  }
  const oneOf = schemaList(schema.oneOf);
  if (oneOf.length > 0 && !full(sink)) {
    const failed: Sink[] = [];
    let matched = 0;
    for (const option of oneOf) {
      const tried = attempt(option, value, path, run, depth, steps);
      if (tried.errors.length > 0) failed.push(tried);
      else if (++matched > 1) break;
    }
    if (matched === 0) add(sink, depth, `${path}: does not match any of the allowed shapes${closest(failed)}`);
    else if (matched > 1) add(sink, depth, `${path}: matches more than one of the allowed shapes`);
  }
  if (isSchema(schema.not) && !full(sink) && attempt(schema.not, value, path, run, depth, steps).errors.length === 0) {
    add(sink, depth, `${path}: matches a forbidden shape`);
  }
}

function hasOtherKeywords(schema: SchemaObject): boolean {
  return Object.keys(schema).some((k) => k !== "$ref" && k !== "description" && k !== "title" && k !== "$defs" && k !== "definitions");
}

/** Checks `value` against one option (of `anyOf`, `oneOf`, `not`) up to its first problem. */
function attempt(schema: JsonSchema, value: unknown, path: string, run: Run, depth: number, steps: number): Sink {
  const sink: Sink = { errors: [], max: 1, depth };
  run.trying++;
  try {
    check(schema, value, path, run, sink, depth, steps + 1);
  } finally {
    run.trying--;
  }
  return sink;
}

/** The problem of the option that got furthest into the value (the first of those), to make a union's failure actionable. */
function closest(failed: readonly Sink[]): string {
  let best: Sink | undefined;
  for (const tried of failed) if (best === undefined || tried.depth > best.depth) best = tried;
  return best?.errors[0] === undefined ? "" : ` (closest: ${best.errors[0]})`;
}

function checkString(schema: SchemaObject, value: string, path: string, sink: Sink, depth: number): void {
  const length = [...value].length;
  if (typeof schema.minLength === "number" && length < schema.minLength) add(sink, depth, `${path}: shorter than ${schema.minLength} characters`);
  if (typeof schema.maxLength === "number" && length > schema.maxLength) add(sink, depth, `${path}: longer than ${schema.maxLength} characters`);
  if (typeof schema.pattern === "string") {
    let re: RegExp | undefined;
    try {
      re = new RegExp(schema.pattern, "u");
    } catch {
      re = undefined;
    }
    if (re !== undefined && !re.test(value)) add(sink, depth, `${path}: does not match the pattern ${schema.pattern}`);
  }
}

function checkNumber(schema: SchemaObject, value: number, path: string, sink: Sink, depth: number): void {
  if (typeof schema.minimum === "number" && value < schema.minimum) add(sink, depth, `${path}: less than ${schema.minimum}`);
  if (typeof schema.maximum === "number" && value > schema.maximum) add(sink, depth, `${path}: greater than ${schema.maximum}`);
  if (typeof schema.exclusiveMinimum === "number" && value <= schema.exclusiveMinimum) add(sink, depth, `${path}: not greater than ${schema.exclusiveMinimum}`);
  if (typeof schema.exclusiveMaximum === "number" && value >= schema.exclusiveMaximum) add(sink, depth, `${path}: not less than ${schema.exclusiveMaximum}`);
}

function checkArray(schema: SchemaObject, value: unknown[], path: string, run: Run, sink: Sink, depth: number): void {
  if (typeof schema.minItems === "number" && value.length < schema.minItems) add(sink, depth, `${path}: fewer than ${schema.minItems} items`);
  if (typeof schema.maxItems === "number" && value.length > schema.maxItems) add(sink, depth, `${path}: more than ${schema.maxItems} items`);
  const tuple = Array.isArray(schema.prefixItems) ? schemaList(schema.prefixItems) : Array.isArray(schema.items) ? schemaList(schema.items) : [];
  const rest = Array.isArray(schema.prefixItems) ? schema.items : Array.isArray(schema.items) ? schema.additionalItems : schema.items;
  for (let i = 0; i < value.length && !full(sink); i++) {
    const sub = i < tuple.length ? tuple[i] : rest;
    if (isSchema(sub)) check(sub, value[i], `${path}[${i}]`, run, sink, depth + 1, 0);
  }
}

function checkObject(schema: SchemaObject, value: Record<string, unknown>, path: string, run: Run, sink: Sink, depth: number): void {
  const properties = recordOf(schema.properties);
  if (Array.isArray(schema.required)) {
    for (const key of schema.required) {
      if (typeof key === "string" && !Object.hasOwn(value, key)) add(sink, depth, `${path}: missing required property ${JSON.stringify(key)}`);
    }
  }
  const patterns = Object.entries(recordOf(schema.patternProperties)).flatMap(([p, s]) => {
    try {
      return isSchema(s) ? [[new RegExp(p, "u"), s] as const] : [];
    } catch {
      return [];
    }
  });
  let keys = Object.keys(value);
  // Trying an option, its plain values first: a discriminator ({ op: "and" }) fails the wrong
  // option at once, before a nested value after it in the object is checked through.
  if (sink.max === 1) keys = [...keys.filter((k) => !isNested(value[k])), ...keys.filter((k) => isNested(value[k]))];
  for (const key of keys) {
    if (full(sink)) return;
    const child = `${path}.${key}`;
    const prop = properties[key];
    let known = false;
    if (Object.hasOwn(properties, key) && isSchema(prop)) {
      known = true;
      check(prop, value[key], child, run, sink, depth + 1, 0);
    }
    for (const [re, sub] of patterns) {
      if (re.test(key)) {
        known = true;
        check(sub, value[key], child, run, sink, depth + 1, 0);
      }
    }
    if (!known && isSchema(schema.additionalProperties)) {
      if (schema.additionalProperties === false) add(sink, depth + 1, `${child}: unknown property`);
      else check(schema.additionalProperties, value[key], child, run, sink, depth + 1, 0);
    }
  }
}

function isNested(value: unknown): boolean {
  return typeof value === "object" && value !== null;
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

