import { describe, expect, it } from "vitest";
import { MAX_VALIDATION_CHECKS, MAX_VALIDATION_CHECKS_PER_VALUE, MAX_VALIDATION_DEPTH } from "../../src/codemode/limits.ts";
import { validateJsonSchema } from "../../src/codemode/validate-json-schema.ts";

/** A linked list: each node is null or { next: node }. */
const list = { $defs: { node: { anyOf: [{ type: "null" }, { type: "object", properties: { next: { $ref: "#/$defs/node" } }, required: ["next"] }] } }, $ref: "#/$defs/node" };

/** How many times `check` looks at the schema of one option, counted through a getter on it. */
function visitsFor(depth: number): number {
  let visits = 0;
  const counted = structuredClone(list);
  const option = counted.$defs.node.anyOf[1]!;
  const type = option.type;
  Object.defineProperty(option, "type", { get: () => (visits++, type), enumerable: true });
  let value: unknown = 5; // the innermost node is wrong: every level fails
  for (let i = 0; i < depth; i++) value = { next: value };
  const errors = validateJsonSchema(counted, value);
  expect(errors[0]).toMatch(/does not match any of the allowed shapes/);
  return visits;
}

/** A filter expression: { op: "and" | "or", args: Expr[] } or { field, eq }, as a oneOf of three shapes. */
function filterSchema(): { schema: Record<string, unknown>; options: Array<Record<string, unknown>> } {
  const args = { type: "array", items: { $ref: "#/$defs/Expr" } };
  const options: Array<Record<string, unknown>> = [
    { type: "object", properties: { op: { const: "and" }, args }, required: ["op", "args"] },
    { type: "object", properties: { op: { const: "or" }, args }, required: ["op", "args"] },
    { type: "object", properties: { field: { type: "string" }, eq: { type: "string" } }, required: ["field", "eq"] },
  ];
  return { schema: { type: "object", properties: { filter: { $ref: "#/$defs/Expr" } }, $defs: { Expr: { oneOf: options } } }, options };
}

/** A chain of `levels` nested expressions, each { op, args: [inner] } (`args` first when `argsFirst`). */
function chain(levels: number, argsFirst = false): unknown {
  let e: unknown = { field: "a", eq: "b" };
  for (let i = 0; i < levels; i++) e = argsFirst ? { args: [e], op: i % 2 === 0 ? "and" : "or" } : { op: i % 2 === 0 ? "and" : "or", args: [e] };
  return e;
}

/** A balanced tree of expressions `levels` deep (2^levels leaves), `args` before `op` in each. */
function tree(levels: number): unknown {
  let e: unknown = { field: "a", eq: "b" };
  for (let i = 0; i < levels; i++) e = { args: [e, e], op: i % 2 === 0 ? "and" : "or" };
  return JSON.parse(JSON.stringify(e)) as unknown; // no shared nodes
}

/** Looks at the options of a filter schema while validating `filter`: how many checks they took. */
function filterVisits(filter: unknown): { visits: number; errors: string[] } {
  const { schema, options } = filterSchema();
  let visits = 0;
  for (const option of options) {
    const type = option.type;
    Object.defineProperty(option, "type", { get: () => (visits++, type), enumerable: true });
  }
  return { errors: validateJsonSchema(schema, { filter }), visits };
}

describe("validateJsonSchema", () => {
  it("checks each option of a nested anyOf once: the work grows with the nesting, not twice per level", () => {
    expect(visitsFor(16)).toBeLessThan(visitsFor(8) * 3);
    expect(validateJsonSchema(list, { next: { next: null } })).toEqual([]);
  });

  it("checks a recursive oneOf (an and/or filter) in work proportional to the input: each option stops at its first problem", () => {
    // Every level of the tree doubles its nodes: linear work quadruples over two levels; checking
    // each option through (the `or` option reads the whole `args` before failing on `op`) doubled it per level too.
    const small = filterVisits(tree(6));
    const large = filterVisits(tree(8));
    expect(small.errors).toEqual([]);
    expect(large.errors).toEqual([]);
    expect(large.visits).toBeLessThan(small.visits * 5);
    // The same through a chain, whatever the order of the keys: three options looked at per expression.
    expect(filterVisits(chain(12, true)).visits).toBeLessThanOrEqual(3 * 13);
    expect(filterVisits(chain(12)).visits).toBeLessThanOrEqual(3 * 13);
  });

  it("counts the input's nesting, not the schema's steps: a valid 16-level filter passes, a 40-level one is refused", () => {
    const { schema } = filterSchema();
    expect(validateJsonSchema(schema, { filter: chain(16) })).toEqual([]); // 33 levels of input, ~70 schema steps
    const deep = validateJsonSchema(schema, { filter: chain(40) });
    expect(deep).toHaveLength(1);
    expect(deep[0]).toMatch(/^input\.filter: does not match any of the allowed shapes \(closest: input\.filter\.args\[0\]: /);
    expect(deep[0]).toContain(`: nested more than ${MAX_VALIDATION_DEPTH} levels deep`);
    // A wrong leaf deep down is named, through the option that got furthest.
    const wrong = { op: "and", args: [{ op: "or", args: [{ field: "a", eq: 1 }] }] };
    expect(validateJsonSchema(schema, { filter: wrong })).toEqual([
      "input.filter: does not match any of the allowed shapes (closest: input.filter.args[0]: does not match any of the allowed shapes" +
        " (closest: input.filter.args[0].args[0]: does not match any of the allowed shapes (closest: input.filter.args[0].args[0].eq: expected string, got integer)))",
    ]);
  });

  it("validates a large plain input through: 20,000 rows (about 1 MB) against an items schema", () => {
    const row = { type: "object", properties: { id: { type: "integer" }, name: { type: "string" }, email: { type: "string" }, tags: { type: "array", items: { type: "string" } } }, required: ["id", "name", "email", "tags"], additionalProperties: false };
    const schema = { type: "object", properties: { rows: { type: "array", items: row } }, required: ["rows"] };
    const rows = Array.from({ length: 20_000 }, (_, i) => ({ id: i, name: `user ${i}`, email: `user${i}@example.com`, tags: ["a", "b", "c"] }));
    expect(JSON.stringify({ rows }).length).toBeGreaterThan(1_000_000);
    expect(validateJsonSchema(schema, { rows })).toEqual([]);
    rows[19_999] = { ...rows[19_999]!, id: 1.5 };
    expect(validateJsonSchema(schema, { rows })).toEqual(["input.rows[19999].id: expected integer, got number"]);
  });

  it("bounds the work of one validation (MAX_VALIDATION_CHECKS) and the schema steps of a $ref cycle", () => {
    // Plain checks (no union option tried) do not count against MAX_VALIDATION_CHECKS.
    const many = Array.from({ length: MAX_VALIDATION_CHECKS * 2 }, (_, i) => i);
    expect(validateJsonSchema({ type: "array", items: { type: "integer" } }, many)).toEqual([]);
    // A wide tree of nested unions is refused, not checked for minutes on the host's thread.
    expect(validateJsonSchema(filterSchema().schema, { filter: tree(14) })).toEqual([
      `input: too complex to validate: more than MAX_VALIDATION_CHECKS (${MAX_VALIDATION_CHECKS}) checks against the schema`,
    ]);
    // allOf branches that each step into the same child double the work per level: bounded per value of the input.
    const doubling = { $defs: { n: { allOf: [{ properties: { c: { $ref: "#/$defs/n" } } }, { properties: { c: { $ref: "#/$defs/n" } } }] } }, $ref: "#/$defs/n" };
    let nested: unknown = 1;
    for (let i = 0; i < 40; i++) nested = { c: nested };
    expect(validateJsonSchema(doubling, nested)).toEqual([
      `input: too complex to validate: more than ${MAX_VALIDATION_CHECKS} checks against the schema (MAX_VALIDATION_CHECKS_PER_VALUE: ${MAX_VALIDATION_CHECKS_PER_VALUE} per value of the input)`,
    ]);
    const cycle = { $defs: { a: { $ref: "#/$defs/b" }, b: { allOf: [{ $ref: "#/$defs/a" }] } }, $ref: "#/$defs/a" };
    expect(validateJsonSchema(cycle, 1)).toEqual(["input: the schema's references go round in a cycle here (32 steps without reading further into the input)"]);
  });
});
