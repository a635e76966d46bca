/**
 * The worker's `env`, importable from `cloudflare:workers` (`import { env } from "cloudflare:workers"`).
 * The object behind it is set twice while a project starts: the bindings first (so module-level code
 * of the entry can read vars, KV, D1 … as it is imported), then the host's env, which adds the agent
 * and workflow bindings.
 */
let target: Record<string, unknown> = {};

/** Points the importable `env` at `env`. */
export function setWorkerEnv(env: Record<string, unknown>): void {
  target = env;
}

/** A live view of the current worker env. */
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
    set: () => false,
  },
);
