import type { Durability } from "../../limits.ts";
import type { Clock } from "../../time/clock.ts";
import type { Shard, ShardService } from "../shard.ts";

/** Where the first thread keeps the project's files (the data directory, as one thread would), and how. */
export interface HeldFiles {
  dataDir: string;
  durability: Durability;
  clock: Clock;
}

/** What the thread bindings need of their shard: whether it holds the services, serving and calling them. */
export type ServiceShard = Pick<Shard, "holdsServices" | "serve" | "callService">;

/**
 * A service over named objects the holder keeps (KV namespaces by id, D1 databases by name …): a
 * call runs `method` of the object `name`, and only the methods listed, so another thread cannot
 * reach anything else (close, say).
 * @example
 * shard.serve("~kv", heldObjects(namespaces, ["get", "put"], "KV namespace")); // namespaces: a Map by id
 */
export function heldObjects<T extends object>(objects: { get(name: string): T | undefined }, methods: ReadonlyArray<keyof T & string>, what: string): ShardService {
  const allowed = new Set<string>(methods);
  return {
    invoke(name, method, args) {
      const target = objects.get(name);
      if (target === undefined) throw new Error(name === "" ? `No ${what} is open on the first thread` : `No ${what} ${JSON.stringify(name)} is open on the first thread`);
      if (!allowed.has(method)) throw new Error(`Unknown ${what} operation ${JSON.stringify(method)}`);
      return (target[method as keyof T] as (...values: unknown[]) => unknown).apply(target, args);
    },
  };
}

/** The caller of `kind`/`name` on the holder, for a binding's stand-in on another thread. */
export function remoteCaller(shard: ServiceShard, kind: string, name: string): <R>(method: string, ...args: unknown[]) => Promise<R> {
  return <R>(method: string, ...args: unknown[]) => shard.callService(kind, name, method, args) as Promise<R>;
}
