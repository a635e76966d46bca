import { join } from "node:path";
import type { KvBackend, StoredEntry, StoredKey } from "../../kv/backend.ts";
import { KvNamespace } from "../../kv/namespace.ts";
import { KvStore } from "../../kv/store.ts";
import type { Clock } from "../../time/clock.ts";
import { heldObjects, remoteCaller, type HeldFiles, type ServiceShard } from "./held.ts";

/** The service kind of KV namespaces; a call names the namespace by its id. */
export const KV_SERVICE = "~kv";

/**
 * KV namespaces shared by the threads of one process: the first thread opens each namespace's file
 * (`kv/<id>.sqlite`, as one thread would) and serves its reads and writes; on the other threads
 * `env.<KV>` is the same binding over a backend that asks the first. Every thread sees every write
 * as soon as its promise resolves, as on one thread.
 * @example
 * const open = threadKvNamespaces(shard, { dataDir, durability: "relaxed", clock: systemClock });
 * env.CACHE = open("4f1c…");
 */
export function threadKvNamespaces(shard: ServiceShard, files: HeldFiles): (id: string) => KvNamespace {
  if (!shard.holdsServices) return (id) => new KvNamespace({ backend: remoteKv(shard, id, files.clock) });
  const stores = new Map<string, KvStore>();
  shard.serve(KV_SERVICE, heldObjects(stores, ["get", "getMany", "put", "delete", "list"], "KV namespace"));
  return (id) => {
    const store = new KvStore({ path: join(files.dataDir, "kv", `${id}.sqlite`), durability: files.durability, clock: files.clock });
    stores.set(id, store);
    return new KvNamespace({ backend: store });
  };
}

function remoteKv(shard: ServiceShard, id: string, clock: Clock): KvBackend {
  const call = remoteCaller(shard, KV_SERVICE, id);
  let open = true;
  return {
    label: id,
    clock,
    get isOpen() {
      return open;
    },
    get: (key, now) => call<StoredEntry | undefined>("get", key, now),
    getMany: (keys, now) => call<Array<StoredEntry | undefined>>("getMany", keys, now),
    put: (key, value, expiration, metadata) => call<void>("put", key, value, expiration, metadata),
    delete: (key) => call<void>("delete", key),
    list: (from, after, before, now, limit) => call<StoredKey[]>("list", from, after, before, now, limit),
    close: () => void (open = false),
  };
}
