import { engineBackend, type D1Backend } from "../../d1/backend.ts";
import { D1Database } from "../../d1/database.ts";
import { D1Engine, type QueryOutput } from "../../d1/engine.ts";
import { d1DatabasePath } from "../../d1/paths.ts";
import type { D1ExecResult } from "../../d1/types.ts";
import { heldObjects, remoteCaller, type HeldFiles, type ServiceShard } from "./held.ts";
import { SharedFiles } from "../../storage/shared-files.ts";

/** The service kind of D1 databases; a call names the database by its `database_name`. */
export const D1_SERVICE = "~d1";

/**
 * D1 databases shared by the threads of one process: the first thread opens each file
 * (`d1/<name>.sqlite`) and runs every query, batch and exec on it, so a batch is one transaction and
 * every thread reads what any wrote; on the other threads `env.<DB>` is the same binding over a
 * backend that asks the first. Bindings that name the same database share one connection, closed
 * when the last of them closes.
 * @example
 * const open = threadD1Databases(shard, { dataDir, durability: "relaxed", clock: systemClock });
 * env.DB = open("app");
 */
export function threadD1Databases(shard: ServiceShard, files: HeldFiles): (databaseName: string) => D1Database {
  if (!shard.holdsServices) return (databaseName) => new D1Database({ label: databaseName, backend: remoteD1(shard, databaseName) });
  const held = new SharedFiles<{ engine: D1Engine; backend: D1Backend }>();
  const fileOf = (databaseName: string) => d1DatabasePath(files.dataDir, databaseName);
  shard.serve(D1_SERVICE, heldObjects({ get: (name) => held.get(fileOf(name))?.backend }, ["query", "batch", "exec", "bookmark", "dump"], "D1 database"));
  return (databaseName) => {
    const file = fileOf(databaseName);
    const entry = held.acquire(
      file,
      (path) => {
        const engine = new D1Engine(path, files.durability, undefined, "retry");
        return { engine, backend: engineBackend(() => engine) };
      },
      () => {},
    );
    return new HeldD1Database(databaseName, entry.backend, () => {
      if (held.release(file, entry)) entry.engine.close();
    });
  };
}

/** The holder's own binding: closing the last one on a database closes the file every thread's queries run on. */
class HeldD1Database extends D1Database {
  readonly #release: () => void;
  #released = false;

  constructor(label: string, backend: D1Backend, release: () => void) {
    super({ label, backend });
    this.#release = release;
  }

  override close(): void {
    super.close();
    if (this.#released) return;
    this.#released = true;
    this.#release();
  }
}

function remoteD1(shard: ServiceShard, databaseName: string): D1Backend {
  const call = remoteCaller(shard, D1_SERVICE, databaseName);
  return {
    query: (query, rows, wantMeta) => call<QueryOutput>("query", query, rows, wantMeta),
    batch: (queries) => call<QueryOutput[]>("batch", queries),
    exec: (text) => call<D1ExecResult>("exec", text),
    bookmark: () => call<string>("bookmark"),
    dump: () => call<Uint8Array>("dump"),
  };
}
