/** What an agent's database is opened with, and what may watch its SQL being compiled. */
import type { DatabaseSync } from "node:sqlite";
import type { Durability } from "../limits.ts";
import type { TransactionOwner } from "./lost-writes.ts";
import type { DatabaseReplication } from "./replication.ts";

/** What node:sqlite's `setAuthorizer` calls: (action code, two arguments, database, trigger or view) → SQLITE_OK / DENY / IGNORE. */
export type SqlAuthorizer = NonNullable<Parameters<DatabaseSync["setAuthorizer"]>[0]>;

export interface AgentDatabaseOptions {
  path: string;
  durability: Durability;
  /** Stored in the file and checked on every open: a hash collision or a moved file fails loudly. */
  identity: string;
  /** Returns the event currently running (from async context); writes are attributed to it. */
  currentOwner: () => TransactionOwner;
  /** Called after an implicit transaction rolled back, so in-memory caches can be dropped. */
  onRollback?: () => void;
  /** This boot's stamp for files written without fsync (default: from the OS; 0: always fsync new files). */
  bootStamp?: number;
  /** Where commits go before their output leaves (a cluster's log); none: the local COMMIT is final. */
  replication?: DatabaseReplication;
}
