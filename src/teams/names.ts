/**
 * Names that become segments of step paths (members, steps, branches, routes, supervisors, handoffs):
 * refused at definition when they could make two steps share a journal row. An empty name would be
 * no segment at all, and "::" separates a member's path from the paths of its own team run in the
 * approvals that surface at the root (NESTED_SEPARATOR). A "/" is escaped in paths (see childPath).
 */
export function checkPathName(name: unknown, what: string): asserts name is string {
  if (typeof name !== "string" || name.length === 0 || name.includes("::") || name.includes("\0")) {
    throw new TypeError(`${what} must be a non-empty name without "::" (got ${JSON.stringify(name)})`);
  }
}
