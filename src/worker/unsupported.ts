import { inspect } from "node:util";
import type { UnsupportedBinding } from "../config/types.ts";

/** Thrown when code touches a binding Hearth cannot provide. */
export class UnsupportedBindingError extends Error {
  override readonly name = "UnsupportedBindingError";
}

/**
 * Stands in for a binding Hearth cannot provide (`env.AI`, `env.BUCKET` …): any use — reading a
 * property, calling it — throws an error that names the binding, where it was declared and what to
 * use instead. Truthiness still sees a value, so `if (env.AI)` guards behave as on a machine without
 * that product, but the first real use fails loudly instead of yielding undefined. Looking at it
 * (`console.log`, `util.inspect`, `String()`, a template literal, `await`) does not throw: it shows
 * what the binding is.
 *
 * @example
 * const ai = unsupportedBinding({ binding: "AI", key: "ai", where: "wrangler.jsonc:7", instead: "call a model provider's API" });
 * console.log(ai); // [env.AI: not available on Hearth (ai, wrangler.jsonc:7)]
 * ai.run("@cf/meta/llama-3-8b-instruct", {}); // throws UnsupportedBindingError naming env.AI, ai and wrangler.jsonc:7
 */
export function unsupportedBinding(binding: UnsupportedBinding): object {
  const fail = (): never => {
    throw new UnsupportedBindingError(
      `env.${binding.binding} (${binding.key}, ${binding.where}) is not available on Hearth: ${binding.instead}`,
    );
  };
  const description = `[env.${binding.binding}: not available on Hearth (${binding.key}, ${binding.where})]`;
  const describe = (): string => description;
  // util.inspect looks at a proxy's target without its traps: the target carries the description.
  const target = Object.defineProperty(function unsupported() {}, inspect.custom, { value: describe });
  return new Proxy(target, {
    get(_target, key) {
      if (key === Symbol.toPrimitive || key === "toString") return describe;
      // Let inspection (console.log, util.inspect, await, JSON.stringify) see an inert value rather than throw.
      if (typeof key === "symbol" || key === "then" || key === "toJSON") return undefined;
      return fail();
    },
    apply: fail,
    construct: fail,
    set: fail,
    defineProperty: fail,
    deleteProperty: fail,
  });
}
