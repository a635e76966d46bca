import { join } from "node:path";
import type { KvBackend, StoredEntry, StoredKey } from "../../kv/backend.ts";
import { KvNamespace } from "../../kv/namespace.ts";
import { KvStore } from "../../kv/store.ts";
import type { Clock } from "../../time/clock.ts";
import { heldObjects, remoteCaller, type HeldFiles, type ServiceShard } from "./held.ts";
import { SharedFiles } from "../../storage/shared-files.ts";

/** The service kind of KV namespaces; a call names the namespace by its id. */
export const KV_SERVICE = "~kv";

/**
 * KV namespaces shared by the threads of one process: the first thread opens each namespace's file
 * (`kv/<id>.sqlite`, as one thread would) and serves its reads and writes; on the other threads
 * `env.<KV>` is the same binding over a backend that asks the first. Every thread sees every write
 * as soon as its promise resolves, as on one thread. Bindings that name the same id share one open
 * file (its lock is exclusive), closed when the last of them closes.
 * @example
 * const open = threadKvNamespaces(shard, { dataDir, durability: "relaxed", clock: systemClock });
 * env.CACHE = open("4f1c…");
 */
export function threadKvNamespaces(shard: ServiceShard, files: HeldFiles): (id: string) => KvNamespace {
  if (!shard.holdsServices) return (id) => new KvNamespace({ backend: remoteKv(shard, id, files.clock) });
  const stores = new SharedFiles<KvStore>();
  const fileOf = (id: string) => join(files.dataDir, "kv", `${id}.sqlite`);
  shard.serve(KV_SERVICE, heldObjects({ get: (id) => stores.get(fileOf(id)) }, ["get", "getMany", "put", "delete", "list"], "KV namespace"));
  return (id) => {
    const file = fileOf(id);
    const store = stores.acquire(file, (path) => new KvStore({ path, durability: files.durability, clock: files.clock }), () => {});
    return new KvNamespace({
      backend: sharedStore(store, () => {
        if (stores.release(file, store)) store.close();
      }),
    });
  };
}

/** One binding's hold on a store other bindings may hold too: its `close()` gives the hold back, once. */
function sharedStore(store: KvStore, release: () => void): KvBackend {
  let open = true;
  return {
    label: store.label,
    clock: store.clock,
    get isOpen() {
      return open && store.isOpen;
    },
    get: (key, now) => store.get(key, now),
    getMany: (keys, now) => store.getMany(keys, now),
    put: (key, value, expiration, metadata) => store.put(key, value, expiration, metadata),
    delete: (key) => store.delete(key),
    list: (from, after, before, now, limit) => store.list(from, after, before, now, limit),
    close: () => {
      if (!open) return;
      open = false;
      release();
    },
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
