/**
 * Durable Objects loaded from code are reached across the sandbox boundary as JSON. A value JSON
 * would change (a Date to a string, a Map to `{}`, undefined in an array to null) is refused with
 * where it is, rather than arriving as something else.
 */

/** Where `value` is not JSON (e.g. "argument 1.when is a Date"), or undefined when it is. */
export function jsonProblem(value: unknown, label: string): string | undefined {
  const seen = new Set<object>();
  const walk = (v: unknown, path: string): string | undefined => {
    if (v === null || typeof v === "string" || typeof v === "boolean") return undefined;
    if (typeof v === "number") return Number.isFinite(v) ? undefined : `${path} is ${v}`;
    if (typeof v !== "object") return `${path} is ${v === undefined ? "undefined" : `a ${typeof v}`}`;
    if (seen.has(v)) return `${path} is a circular reference`;
    seen.add(v);
    try {
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const problem = walk(v[i], `${path}[${i}]`);
          if (problem) return problem;
        }
        return undefined;
      }
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
        return `${path} is a ${typeof name === "string" && name ? name : "object with a prototype"}`;
      }
      for (const [key, item] of Object.entries(v)) {
        if (item === undefined) continue;
        const problem = walk(item, `${path}.${key}`);
        if (problem) return problem;
      }
      return undefined;
    } finally {
      seen.delete(v);
    }
  };
  return walk(value, label);
}

/** Throws a TypeError naming `what` and where the value is not JSON. */
export function requireJson(value: unknown, label: string, what: string): void {
  const problem = jsonProblem(value, label);
  if (problem) throw new TypeError(`${what}: ${problem}; Durable Objects loaded from code take, return and store JSON values only`);
}
