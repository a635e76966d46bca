import { describe, expect, it } from "vitest";
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

describe("validateJsonSchema", () => {
  it("checks each option of a nested anyOf once: the work grows with the nesting, not twice per level", () => {
    expect(visitsFor(16)).toBeLessThan(visitsFor(8) * 3);
    expect(validateJsonSchema(list, { next: { next: null } })).toEqual([]);
  });
});
