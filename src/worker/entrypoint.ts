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

/** Marks a class whose instances may be passed by reference over RPC (`cloudflare:workers`). On one host, objects are passed as they are. */
export abstract class RpcTarget {}
