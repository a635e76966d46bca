import { ACTOR_KIND, type ActorKind } from "../host/actor.ts";
import { installWorkersGlobals } from "../websocket/globals.ts";
import type { WorkersWebSocket } from "../websocket/socket.ts";
import { DurableObjectActor, type DurableObjectConstructor } from "./actor.ts";
import type { AlarmInvocationInfo } from "./alarm.ts";
import { DurableObjectNamespace } from "./namespace.ts";
import type { DurableObjectState } from "./state.ts";

// Durable Object code accepts sockets with the Workers globals (WebSocketPair, 101 responses).
installWorkersGlobals();

/** How the host runs plain Durable Object classes: a namespace per binding, an adapter per instance. */
const durableObjectKind: ActorKind = {
  namespace: (binding) => new DurableObjectNamespace(binding),
  create: (ctx, env, namespace) => {
    const objects = namespace as DurableObjectNamespace;
    return new DurableObjectActor(objects.objectClass as DurableObjectConstructor, ctx, env, objects);
  },
};

/**
 * Base class of a plain Durable Object, as `cloudflare:workers` exports it: one instance per id, with
 * its own SQLite storage, RPC through stubs, an alarm and hibernatable WebSockets. It runs on the same
 * host as agents (same input gate, implicit transactions, output gate and hibernation).
 * @example
 * import { DurableObject } from "cloudflare:workers";
 *
 * export class Counter extends DurableObject<Env> {
 *   async increment(by = 1): Promise<number> {
 *     const value = ((await this.ctx.storage.get<number>("value")) ?? 0) + by;
 *     await this.ctx.storage.put("value", value);
 *     return value;
 *   }
 * }
 * // in the worker: await env.COUNTER.getByName("visits").increment();
 */
export abstract class DurableObject<Env = unknown, Props = unknown> {
  static readonly [ACTOR_KIND]: ActorKind = durableObjectKind;
  protected readonly ctx: DurableObjectState<Props>;
  protected readonly env: Env;

  constructor(ctx: DurableObjectState<Props>, env: Env) {
    this.ctx = ctx;
    this.env = env;
  }

  fetch?(request: Request): Response | Promise<Response>;
  alarm?(alarmInfo?: AlarmInvocationInfo): void | Promise<void>;
  webSocketMessage?(ws: WorkersWebSocket, message: string | ArrayBuffer): void | Promise<void>;
  webSocketClose?(ws: WorkersWebSocket, code: number, reason: string, wasClean: boolean): void | Promise<void>;
  webSocketError?(ws: WorkersWebSocket, error: unknown): void | Promise<void>;
}
