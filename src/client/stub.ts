/**
 * Methods of an agent as seen by a client that was not told their types.
 *
 * @example
 * ```ts
 * const stub: AgentStub<UntypedMethods> = client.stub;
 * const result = await stub["anyMethod"]?.(1, 2);
 * ```
 */
export type UntypedMethods = Record<string, (...args: unknown[]) => unknown>;

/**
 * Calls agent methods by name: `stub.increment(2)` resolves with the result.
 * Pass an interface of the agent's callables to type it:
 *
 * @example
 * ```ts
 * interface CounterMethods { increment(by: number): number }
 * const client = new AgentClient<{ count: number }, CounterMethods>({ host, agent: "Counter" });
 * const next: number = await client.stub.increment(2);
 * ```
 */
export type AgentStub<Methods extends object = UntypedMethods> = {
  [K in keyof Methods]: Methods[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/** Keys that runtimes, test frameworks and loggers probe on arbitrary objects. */
const PROBED_KEYS = new Set([
  "then",
  "catch",
  "finally",
  "toJSON",
  "toString",
  "valueOf",
  "constructor",
  "prototype",
  "inspect",
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
 * const stub = createStub((method, args) => client.call(method, args));
 * await stub.increment(2); // same as client.call("increment", [2])
 * ```
 */
export function createStub<Methods extends object = UntypedMethods>(
  call: (method: string, args: unknown[]) => Promise<unknown>,
): AgentStub<Methods> {
  return new Proxy({} as AgentStub<Methods>, {
    get(_target, key) {
      if (typeof key === "symbol" || PROBED_KEYS.has(key)) return undefined;
      return (...args: unknown[]) => call(key, args);
    },
    has() {
      return false;
    },
  });
}
