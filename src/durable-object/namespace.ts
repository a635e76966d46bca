import { answerUnlessAborted } from "../host/abortable-fetch.ts";
import { currentEvent } from "../host/event-context.ts";
import { handOut } from "../websocket/handed-out.ts";
import { callerOfCurrentScope } from "../agent/context.ts";
import type { ActorClassBinding, ActorDispatcher } from "../host/actor.ts";
import { checkObjectName, DurableObjectId, idHexFromName, parseIdHex, uniqueIdHex } from "./id.ts";
import { copyAcross, copyArguments } from "../host/copy.ts";
import { remoteError } from "./remote-error.ts";

type Method = (...args: never[]) => unknown;
type Handler = "fetch" | "alarm" | "webSocketMessage" | "webSocketClose" | "webSocketError" | "constructor";

/**
 * A handle on one Durable Object: `fetch` and every public method as RPC (arguments and results are
 * structured-cloned, as across the network).
 * @example
 * const room = env.ROOMS.getByName("lobby");
 * await room.post("hello");
 * const res = await room.fetch("https://room/messages");
 */
export type DurableObjectStub<T = unknown> = {
  [K in keyof T as K extends string ? (T[K] extends Method ? (K extends Handler ? never : K) : never) : never]: T[K] extends (
    ...args: infer A
  ) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
} & {
  readonly id: DurableObjectId;
  readonly name: string | undefined;
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>;
};

/** Placement options Cloudflare takes; one host has one place, so they are accepted and ignored. */
export interface DurableObjectGetOptions {
  locationHint?: string;
}

function releaseNothing(): void {}

/** The caller gets a copy of what the object threw, marked `remote`, never the object's own error (remote-error.ts). */
function rethrowRemote(error: unknown): never {
  throw remoteError(error);
}

/** Names remembered per namespace for objects reached by id before their first start (a hint; the object stores its own). */
const MAX_REMEMBERED_NAMES = 100_000;

/**
 * `env.ROOMS` for a plain Durable Object class: ids from names, unique ids, ids from strings, stubs.
 * @example
 * const stub = env.ROOMS.get(env.ROOMS.idFromName("lobby"));
 * const fresh = env.ROOMS.get(env.ROOMS.newUniqueId());
 */
export class DurableObjectNamespace<T = unknown> {
  /** The class's binding name, e.g. "Room". */
  readonly className: string;
  /** The URL segment, e.g. "room". */
  readonly slug: string;
  /** @internal The class this namespace's objects are made from. */
  readonly objectClass: ActorClassBinding["ctor"];
  readonly #storageSlug: string;
  readonly #dispatcher: ActorDispatcher;
  readonly #names = new Map<string, string>();

  /** @internal Created by the host. */
  constructor(binding: ActorClassBinding) {
    this.className = binding.className;
    this.slug = binding.slug;
    this.objectClass = binding.ctor;
    this.#storageSlug = binding.storageSlug;
    this.#dispatcher = binding.dispatcher;
  }

  idFromName(name: string): DurableObjectId {
    checkObjectName(name);
    const hex = idHexFromName(this.#storageSlug, name);
    this.#remember(hex, name);
    return new DurableObjectId(hex, name);
  }

  idFromString(id: string): DurableObjectId {
    return new DurableObjectId(parseIdHex(this.#storageSlug, id));
  }

  /** A new id that no other call returns. `jurisdiction` is accepted and ignored. */
  newUniqueId(_options?: { jurisdiction?: string }): DurableObjectId {
    return new DurableObjectId(uniqueIdHex(this.#storageSlug));
  }

  get(id: DurableObjectId, _options?: DurableObjectGetOptions): DurableObjectStub<T> {
    if (!(id instanceof DurableObjectId)) throw new TypeError("get() takes a DurableObjectId from idFromName, idFromString or newUniqueId");
    const hex = parseIdHex(this.#storageSlug, id.toString()); // an id of another class is refused
    // The object may run on another thread, whose namespace never saw the name: its ctx.id.name.
    if (id.name !== undefined) this.#dispatcher.learnName?.(this.className, hex, id.name);
    return this.#stub(id, hex);
  }

  getByName(name: string, options?: DurableObjectGetOptions): DurableObjectStub<T> {
    return this.get(this.idFromName(name), options);
  }

  /** The same namespace: one host keeps all data in one place. */
  jurisdiction(_jurisdiction: string): DurableObjectNamespace<T> {
    return this;
  }

  /** @internal The name an id was made from, if this thread made it or was told (`learnName`). */
  nameOf(hex: string): string | undefined {
    return this.#names.get(hex);
  }

  /** @internal Told by the thread that made the id `hex` from `name` (the host runs the object here). */
  learnName(hex: string, name: string): void {
    this.#remember(hex, name);
  }

  #remember(hex: string, name: string): void {
    if (this.#names.has(hex)) return;
    if (this.#names.size >= MAX_REMEMBERED_NAMES) this.#names.delete(this.#names.keys().next().value!);
    this.#names.set(hex, name);
  }

  #stub(id: DurableObjectId, hex: string): DurableObjectStub<T> {
    const dispatcher = this.#dispatcher;
    const className = this.className;
    const fetch = async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
      const request = input instanceof Request && init === undefined ? input : new Request(input, init);
      const event = currentEvent();
      const answered = answerUnlessAborted(request, () => dispatcher.request(className, hex, request).catch(rethrowRemote));
      // A 101 goes to the request or event running here: one it drops is dropped when it ends.
      return answered.then((response) => handOut(response, event));
    };
    return new Proxy({} as DurableObjectStub<T>, {
      get(_target, property) {
        if (property === "fetch") return fetch;
        if (property === "id") return id;
        if (property === "name") return id.name;
        // `using stub = …` works as on Cloudflare; a stub holds nothing to release here.
        if (property === Symbol.dispose) return releaseNothing;
        // Not thenable: `await stub` must yield the stub itself.
        if (typeof property !== "string" || property === "then") return undefined;
        return async (...args: unknown[]) =>
          copyAcross(await dispatcher.invoke(className, hex, property, copyArguments(args), callerOfCurrentScope()).catch(rethrowRemote));
      },
    });
  }
}
