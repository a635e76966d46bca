import type { ExecutionContext } from "../gateway/serve.ts";

/**
 * Base class of a class-based worker (`export default class extends WorkerEntrypoint { fetch() {} }`),
 * as in `cloudflare:workers`: `this.ctx` and `this.env` are set by the constructor.
 * @example
 * import { WorkerEntrypoint } from "cloudflare:workers";
 * export default class extends WorkerEntrypoint<Env> {
 *   async fetch(request: Request) {
 *     return new Response(`hello from ${this.env.APP_NAME}`);
 *   }
 * }
 */
export abstract class WorkerEntrypoint<Env = Record<string, unknown>, Props = Record<string, unknown>> {
  readonly ctx: ExecutionContext & { props: Props };
  readonly env: Env;

  constructor(ctx: ExecutionContext, env: Env) {
    this.ctx = ctx as ExecutionContext & { props: Props };
    this.env = env;
  }
}

/**
 * Marks a class whose instances Cloudflare passes by reference over RPC (`cloudflare:workers`). Hearth
 * copies every RPC value (structured clone), so an instance sent to another agent or object arrives as
 * a plain object of its own fields: its methods do not cross (docs/compat.md). Within one agent it is
 * an ordinary object.
 */
export abstract class RpcTarget {}

/** What `new RpcStub(value)` gives: the value's own properties and methods, plus `dup()` and disposal. */
export type LocalRpcStub<T extends object> = T & { dup(): LocalRpcStub<T>; [Symbol.dispose](): void };

/**
 * `cloudflare:workers`' `RpcStub`, for code that wraps an object or function to hand it out: calls
 * reach the wrapped value, `dup()` makes another stub and disposing one does nothing. A stub does not
 * cross an RPC call on Hearth (values are copied; sending one fails with a DataCloneError).
 * @example
 * using counter = new RpcStub(new Counter());
 * await counter.increment();
 */
export const RpcStub = function stub<T extends object>(value: T): LocalRpcStub<T> {
  if (new.target === undefined) throw new TypeError("Class constructor RpcStub cannot be invoked without 'new'");
  if ((typeof value !== "object" && typeof value !== "function") || value === null) {
    throw new TypeError("RpcStub wraps an object or a function");
  }
  return new Proxy(value, {
    get(target, key) {
      if (key === "dup") return () => new RpcStub(target);
      if (key === Symbol.dispose) return () => {};
      const property = Reflect.get(target, key, target) as unknown;
      return typeof property === "function" ? (property as (...args: unknown[]) => unknown).bind(target) : property;
    },
  }) as LocalRpcStub<T>;
} as unknown as new <T extends object>(value: T) => LocalRpcStub<T>;
Object.defineProperty(RpcStub, "name", { value: "RpcStub" });
