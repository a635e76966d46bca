/**
 * A sandbox's `env` as it crosses into the sandbox: plain data copied as JSON, functions and methods
 * replaced by numeric ids the prelude turns back into async functions (capabilities). The sandbox
 * never holds a host object; it can only name a capability the host handed it, by id.
 */

interface EnvShapeValue {
  t: "v";
  v: unknown;
}
interface EnvShapeFunction {
  t: "f";
  id: number;
}
export interface EnvShapeObject {
  t: "o";
  p: Record<string, EnvShape>;
}
type EnvShape = EnvShapeValue | EnvShapeFunction | EnvShapeObject;

export type Capability = (...args: unknown[]) => unknown;

const MAX_ENV_DEPTH = 8;

function hasMethods(value: object): boolean {
  for (let o: object | null = value; o && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const key of Object.getOwnPropertyNames(o)) {
      if (key === "constructor") continue;
      const d = Object.getOwnPropertyDescriptor(o, key);
      if (d && typeof d.value === "function") return true;
    }
  }
  return false;
}

/** Turns `env` into a shape the prelude rebuilds: data copied as JSON, functions and methods as ids. */
export function describeEnv(env: Record<string, unknown>, capabilities: Capability[]): EnvShapeObject {
  const walk = (value: unknown, self: unknown, depth: number, seen: Set<object>): EnvShape | undefined => {
    if (typeof value === "function") {
      const fn = value as Capability;
      capabilities.push((...args) => fn.apply(self, args));
      return { t: "f", id: capabilities.length - 1 };
    }
    if (value === null || typeof value !== "object" || !hasMethods(value)) {
      if (value === undefined) return undefined;
      const json = JSON.stringify(value);
      return json === undefined ? undefined : { t: "v", v: JSON.parse(json) as unknown };
    }
    if (depth >= MAX_ENV_DEPTH || seen.has(value)) return undefined;
    seen.add(value);
    const props: Record<string, EnvShape> = {};
    const keys = new Set<string>();
    for (let o: object | null = value; o && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
      for (const key of Object.getOwnPropertyNames(o)) if (key !== "constructor" && !key.startsWith("_")) keys.add(key);
    }
    for (const key of keys) {
      let member: unknown;
      try {
        member = (value as Record<string, unknown>)[key];
      } catch {
        continue;
      }
      const shape = walk(member, value, depth + 1, seen);
      if (shape) props[key] = shape;
    }
    seen.delete(value);
    return { t: "o", p: props };
  };
  const props: Record<string, EnvShape> = {};
  for (const [key, value] of Object.entries(env)) {
    const shape = walk(value, env, 0, new Set());
    if (shape) props[key] = shape;
  }
  return { t: "o", p: props };
}
