import type { Durability } from "../../limits.ts";
import type { D1Backend } from "../../d1/backend.ts";
import { dumpBytes } from "../../d1/backend.ts";
import { META_TABLE } from "../../d1/connection.ts";
import { D1Database } from "../../d1/database.ts";
import { D1Engine, type BoundQuery, type QueryOutput, type RowsWanted } from "../../d1/engine.ts";
import { d1Error } from "../../d1/errors.ts";
import { d1DatabasePath } from "../../d1/paths.ts";
import type { D1ExecResult } from "../../d1/types.ts";
import type { DatabaseReplication } from "../../storage/replication.ts";
import type { OwnedService } from "../services.ts";

/** The service kind of D1 databases: their log and lease key is `~d1/<database name>`. */
export const D1_SERVICE = "~d1";

/** What the D1 binding needs of its cluster node (a `ClusterNode`). */
export interface D1ClusterNode {
  serve(kind: string, service: OwnedService): void;
  callService(kind: string, name: string, method: string, args: readonly unknown[]): Promise<unknown>;
}

/** Options of {@link clusterD1}. */
export interface ClusterD1Options {
  /** The node's data directory: the databases it holds are cached in `d1/<name>.sqlite` there. */
  dataDir: string;
  /** `synchronous` of the local copies; the log in Postgres is what makes a commit durable. */
  durability?: Durability;
}

/**
 * D1 databases in a cluster: each lives on one node at a time, like an agent — its SQLite file a
 * cache of its log in Postgres (a changeset per commit, a snapshot after a schema change), its lease
 * claimed by the first node a query reaches while nobody live holds it, taken over when that node
 * dies. Queries from every other node are forwarded to the holder. A result leaves only once the
 * commits it may have read are in the log, so no answered write is lost with a node.
 * Returns the factory of `env.<DB>` bindings (same API, limits and errors as one node's D1).
 * @example
 * const open = clusterD1(node, { dataDir: ".hearth" });
 * const db = open("app");
 * await db.prepare("INSERT INTO notes (body) VALUES (?)").bind("hi").run(); // on whichever node holds "app"
 */
export function clusterD1(node: D1ClusterNode, options: ClusterD1Options): (databaseName: string) => D1Database {
  const engines = new Map<string, D1Engine>();
  const durability = options.durability ?? "relaxed";
  const file = (name: string): string => d1DatabasePath(options.dataDir, name);

  const engineOf = (name: string, replication: () => DatabaseReplication): D1Engine => {
    let engine = engines.get(name);
    if (engine === undefined || !engine.connection.isOpen) {
      engine = new D1Engine(file(name), durability, replication());
      engines.set(name, engine);
    }
    return engine;
  };

  node.serve(D1_SERVICE, {
    file,
    metaTable: META_TABLE,
    async invoke(name, method, args, replication) {
      const engine = engineOf(name, replication);
      let result: unknown;
      try {
        result = run(engine, method, args);
      } catch (error) {
        // Even an error may tell of rows a commit still on its way wrote: it too waits for the log.
        await engine.connection.replicated().catch(() => undefined);
        throw error;
      }
      try {
        await engine.connection.replicated();
      } catch (error) {
        throw d1Error("D1_ERROR", `${name}: a commit could not be made durable in the cluster's log (${(error as Error).message}); it was not applied`, error);
      }
      return result;
    },
    release(name) {
      engines.get(name)?.close();
      engines.delete(name);
    },
  });

  return (databaseName) => {
    file(databaseName); // the name's checks, at start-up rather than at the first query
    const call = <T>(method: string, args: readonly unknown[]): Promise<T> => node.callService(D1_SERVICE, databaseName, method, args) as Promise<T>;
    const backend: D1Backend = {
      query: (query, rows, wantMeta) => call<QueryOutput>("query", [query, rows, wantMeta]),
      batch: (queries) => call<QueryOutput[]>("batch", [queries]),
      exec: (text) => call<D1ExecResult>("exec", [text]),
      bookmark: () => call<string>("bookmark", []),
      dump: () => call<Uint8Array>("dump", []),
    };
    return new D1Database({ label: databaseName, backend });
  };
}

/** One call on the database this node holds. Synchronous: a call's statements run with nothing in between. */
function run(engine: D1Engine, method: string, args: readonly unknown[]): unknown {
  switch (method) {
    case "query":
      return engine.query(args[0] as BoundQuery, args[1] as RowsWanted, args[2] === true);
    case "batch":
      return engine.batch(args[0] as BoundQuery[]);
    case "exec":
      return engine.exec(args[0] as string);
    case "bookmark":
      return engine.bookmark();
    case "dump":
      return dumpBytes(engine);
    default:
      throw d1Error("D1_ERROR", `unknown D1 operation ${JSON.stringify(method)}`);
  }
}
