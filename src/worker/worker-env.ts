/**
 * The worker's `env`, importable from `cloudflare:workers` (`import { env } from "cloudflare:workers"`).
 * The object behind it is set twice while a project starts: the bindings first (so module-level code
 * of the entry can read vars, KV, D1 … as it is imported), then the host's env, which adds the agent
 * and workflow bindings. Keys the application wrote through `env` are carried over to the next object,
 * as on Cloudflare, where the importable `env` writes through to the one env of the worker.
 */
let target: Record<string, unknown> = {};
/** Keys written (or deleted) through {@link workerEnv}: the application's, kept when the target changes. */
const written = new Map<string | symbol, PropertyDescriptor | undefined>();

/**
 * Points the importable `env` at `env`. `carryWrites`: the same worker's next env (the host's, after
 * the module loaded), which keeps what the application wrote through `env` so far; otherwise a new
 * load starts clean.
 */
export function setWorkerEnv(env: Record<string, unknown>, carryWrites = false): void {
  target = env;
  if (!carryWrites) written.clear();
  for (const [key, descriptor] of written) {
    if (descriptor === undefined) Reflect.deleteProperty(target, key);
    else Reflect.defineProperty(target, key, descriptor);
  }
}

/** A live view of the current worker env; writes go through to it. */
export const workerEnv: Record<string, unknown> = new Proxy(
  {},
  {
    get: (_object, key) => (typeof key === "string" ? target[key] : undefined),
    has: (_object, key) => key in target,
    ownKeys: () => Reflect.ownKeys(target),
    getOwnPropertyDescriptor: (_object, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(target, key);
      return descriptor ? { ...descriptor, configurable: true } : undefined;
    },
    set: (_object, key, value) => {
      written.set(key, { value, writable: true, enumerable: true, configurable: true });
      return Reflect.set(target, key, value);
    },
    defineProperty: (_object, key, descriptor) => {
      written.set(key, { configurable: true, ...descriptor });
      return Reflect.defineProperty(target, key, { configurable: true, ...descriptor });
    },
    deleteProperty: (_object, key) => {
      written.set(key, undefined);
      return Reflect.deleteProperty(target, key);
    },
  },
);

/**
 * An object standing in, while the entry's module scope runs, for a binding the host makes only once
 * the entry's classes are known (a Durable Object or Workflow binding): `env.ROOMS` exists at module
 * scope, and a reference taken there works once the host exists. Used before that (module scope
 * cannot reach other objects on Cloudflare either), it throws, naming the binding.
 * @example
 * setWorkerEnv({ ROOMS: lateBinding("ROOMS", () => host?.env.ROOMS) });
 */
export function lateBinding(name: string, resolve: () => unknown): object {
  const real = (): object => {
    const value = resolve();
    if (typeof value !== "object" || value === null) {
      throw new Error(`env.${name} is not ready while the worker's module is loading: use it inside a handler or a method`);
    }
    return value;
  };
  // Looking at it (console.log, `in`, a symbol such as util.inspect's) before then sees an empty object.
  const ifReady = (): object | undefined => {
    const value = resolve();
    return typeof value === "object" && value !== null ? value : undefined;
  };
  return new Proxy(
    {},
    {
      get: (_object, key) => {
        const ready = typeof key === "symbol" ? ifReady() : real();
        if (ready === undefined) return undefined;
        const value = Reflect.get(ready, key) as unknown;
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(ready) : value;
      },
      has: (_object, key) => {
        const ready = ifReady();
        return ready !== undefined && key in ready;
      },
      ownKeys: () => {
        const ready = ifReady();
        return ready === undefined ? [] : Reflect.ownKeys(ready);
      },
      getOwnPropertyDescriptor: (_object, key) => {
        const ready = ifReady();
        const descriptor = ready === undefined ? undefined : Reflect.getOwnPropertyDescriptor(ready, key);
        return descriptor ? { ...descriptor, configurable: true } : undefined;
      },
      getPrototypeOf: () => {
        const ready = ifReady();
        return ready === undefined ? Object.prototype : Reflect.getPrototypeOf(ready);
      },
    },
  );
}
