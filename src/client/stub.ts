import type { UntypedAgentStub } from "./agent-types.ts";

export type { AgentStub, UntypedMethods } from "./agent-types.ts";

/**
 * Keys that runtimes, test frameworks and loggers probe on arbitrary objects: the Agents SDK's
 * `INTERNAL_JS_STUB_PROPS`. Not `inspect`: Node's `util.inspect` probes a symbol, not that name,
 * and an agent may well have a callable called `inspect`.
 */
const PROBED_KEYS = new Set([
  "then",
  "catch",
  "finally",
  "toJSON",
  "toString",
  "valueOf",
  "constructor",
  "prototype",
  "$$typeof",
  "asymmetricMatch",
  "nodeType",
  "@@toStringTag",
]);

/**
 * Builds a proxy whose properties are remote methods. Reading `stub.foo`
 * returns a function that forwards to `call("foo", args)`.
 *
 * Symbol keys and the keys that `await`, `JSON.stringify`, `console.log`,
 * React and test matchers probe (`then`, `toJSON`, `$$typeof`, ...) read as
 * `undefined`, so a stub is never mistaken for a promise and inspecting it
 * sends nothing.
 *
 * @example
 * ```ts
 * const stub = createStubProxy<UntypedAgentStub>((method, args) => client.call(method, args));
 * await stub.increment(2); // same as client.call("increment", [2])
 * ```
 */
export function createStubProxy<T = UntypedAgentStub>(call: (method: string, args: unknown[]) => unknown): T {
  return new Proxy({} as Record<string, unknown>, {
    get(_target, key) {
      if (typeof key === "symbol" || PROBED_KEYS.has(key)) return undefined;
      return (...args: unknown[]) => call(key, args);
    },
    has() {
      return false;
    },
  }) as T;
}
