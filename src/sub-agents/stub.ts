type Method = (...args: never[]) => unknown;

/**
 * A typed handle on a sub-agent: its own methods (not the Agent base's), each returning a promise;
 * arguments and results are structured-cloned.
 */
export type SubAgentStub<T> = {
  [K in keyof T as K extends string ? (T[K] extends Method ? K : never) : never]: T[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
};

const cache = new WeakMap<object, ReadonlySet<string>>();

/** Every method name on a prototype chain (the Agent base's API, hidden from sub-agent stubs). */
export function methodNamesOf(prototype: object): ReadonlySet<string> {
  let names = cache.get(prototype);
  if (!names) {
    const found = new Set<string>();
    for (let proto: object | null = prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
      for (const name of Object.getOwnPropertyNames(proto)) found.add(name);
    }
    names = found;
    cache.set(prototype, names);
  }
  return names;
}
