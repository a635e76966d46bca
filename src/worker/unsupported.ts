import type { UnsupportedBinding } from "../config/types.ts";

/** Thrown when code touches a binding Hearth cannot provide. */
export class UnsupportedBindingError extends Error {
  override readonly name = "UnsupportedBindingError";
}

/**
 * Stands in for a binding Hearth cannot provide (`env.AI`, `env.BUCKET` …): any use — reading a
 * property, calling it — throws an error that names the binding, where it was declared and what to
 * use instead. `typeof` and truthiness still see an object, so `if (env.AI)` guards behave as on a
 * machine without that product, but the first real use fails loudly instead of yielding undefined.
 */
export function unsupportedBinding(binding: UnsupportedBinding): object {
  const fail = (): never => {
    throw new UnsupportedBindingError(
      `env.${binding.binding} (${binding.key}, ${binding.where}) is not available on Hearth: ${binding.instead}`,
    );
  };
  return new Proxy(function unsupported() {}, {
    get(_target, key) {
      // Let inspection (console.log, util.inspect, await) see an inert object rather than throw.
      if (typeof key === "symbol" || key === "then" || key === "toJSON") return undefined;
      return fail();
    },
    apply: fail,
    construct: fail,
    set: fail,
  });
}
