/**
 * The host side of a sandboxed Durable Object's storage: the `do.<op>` bridge operations its
 * in-sandbox `ctx.storage` makes (durable-object-prelude.ts), answered against one object's own
 * `DurableObjectStorage` — the facet's database, inside the implicit transaction of the event that
 * is running. Payloads and answers are JSON strings (bounded by the sandbox's `maxHostCallBytes`),
 * so the same operations can cross a thread boundary.
 *
 * Sync operations (answered while the sandbox's code waits): `sql`, `sql.size`, `kv`,
 * `txn.rollback`, `txn.sync`, `txn.reset`. Async ones: `storage`, `txn.open`, `txn.close`.
 */
import type { AgentDatabase } from "../storage/database.ts";
import type { DurableObjectStorage, DurableObjectTransaction } from "../storage/durable-storage.ts";
import { runSandboxedSql } from "./durable-object-sql.ts";
import type { NestedCall } from "./extension.ts";
import { parseFromSandbox } from "./wire.ts";

/** What the ops need of the object's storage: its API, and its database for SQL (see durable-object-sql.ts). */
export interface SandboxedStorage {
  readonly storage: Pick<
    DurableObjectStorage,
    "kv" | "get" | "put" | "delete" | "list" | "getAlarm" | "setAlarm" | "deleteAlarm" | "deleteAll" | "sync" | "transaction" | "transactionSync"
  >;
  readonly db: Pick<AgentDatabase, "statement" | "execScript" | "size">;
}

export interface DurableObjectOps {
  sync(op: string, payload: string, nested: NestedCall): string;
  async(op: string, payload: string): Promise<string>;
  /** The sandbox stopped: transactions left open are rolled back. */
  endEvent(): void;
}

/** Methods the async API may call, on the storage or on a transaction. */
const STORAGE_METHODS = new Set(["get", "put", "delete", "list", "getAlarm", "setAlarm", "deleteAlarm", "deleteAll", "sync"]);
const KV_METHODS = new Set(["get", "put", "delete", "list"]);
/** Closed transactions kept so a late call through `txn` gets the storage's own error. */
const MAX_CLOSED_TRANSACTIONS = 16;

interface OpenTransaction {
  readonly txn: DurableObjectTransaction;
  decide(commit: boolean): void;
  readonly done: Promise<unknown>;
  open: boolean;
}

/** Thrown inside a host transaction to roll it back when the sandbox's side failed. */
class SandboxSideFailed extends Error {}

/** The storage ops of one sandboxed object. */
export function durableObjectOps({ storage, db }: SandboxedStorage): DurableObjectOps {
  const transactions = new Map<number, OpenTransaction>();
  let sequence = 0;

  const rollBackOpen = (): undefined => {
    for (const entry of transactions.values()) {
      if (!entry.open) continue;
      entry.open = false;
      entry.decide(false);
    }
    forgetClosed(transactions);
    return undefined;
  };

  const transaction = (id: unknown): OpenTransaction => {
    const found = typeof id === "number" ? transactions.get(id) : undefined;
    if (!found) throw new Error(`unknown transaction ${String(id)}`);
    return found;
  };

  const syncOps: Record<string, (p: Record<string, unknown>, nested: NestedCall) => unknown> = {
    sql: ({ q, b }) => runSandboxedSql(db as AgentDatabase, String(q), Array.isArray(b) ? b : []),
    "sql.size": () => db.size,
    kv: ({ m, a }) => {
      if (typeof m !== "string" || !KV_METHODS.has(m)) throw new TypeError(`kv.${String(m)} is not a method`);
      const kv = storage.kv as unknown as Record<string, (...args: unknown[]) => unknown>;
      return kv[m]!(...(Array.isArray(a) ? a : []));
    },
    "txn.rollback": ({ id }) => transaction(id).txn.rollback(),
    "txn.reset": () => rollBackOpen(),
    "txn.sync": ({ id }, nested) => {
      try {
        storage.transactionSync(() => {
          if (nested("txn", String(id)) !== "ok") throw new SandboxSideFailed();
        });
      } catch (error) {
        if (!(error instanceof SandboxSideFailed)) throw error;
      }
      return undefined;
    },
  };

  const asyncOps: Record<string, (p: Record<string, unknown>) => Promise<unknown>> = {
    storage: async ({ m, a, t }) => {
      if (typeof m !== "string" || !STORAGE_METHODS.has(m)) throw new TypeError(`storage.${String(m)} is not a method`);
      const target = (t === null || t === undefined ? storage : transaction(t).txn) as unknown as Record<string, (...args: unknown[]) => unknown>;
      if (typeof target[m] !== "function") throw new TypeError(`${m}() is not available here`);
      return await target[m](...(Array.isArray(a) ? a : []));
    },
    "txn.open": async () => {
      const id = ++sequence;
      let decide!: (commit: boolean) => void;
      const decided = new Promise<boolean>((resolve) => (decide = resolve));
      let opened!: (txn: DurableObjectTransaction) => void;
      const open = new Promise<DurableObjectTransaction>((resolve) => (opened = resolve));
      // It opens once the object's input gate lets it in (at once unless another event holds it).
      const done = storage.transaction(async (t) => {
        opened(t);
        if (!(await decided)) throw new SandboxSideFailed();
      });
      done.catch(() => {}); // read by txn.close, or dropped with the event
      const notOpened = done.then(() => Promise.reject(new Error("the transaction did not open")));
      const txn = await Promise.race([open, notOpened]);
      transactions.set(id, { txn, decide, done, open: true });
      return id;
    },
    "txn.close": async ({ id, ok }) => {
      const entry = transaction(id);
      entry.open = false;
      entry.decide(ok === true);
      try {
        await entry.done;
      } catch (error) {
        if (!(error instanceof SandboxSideFailed)) throw error;
      } finally {
        forgetClosed(transactions);
      }
      return undefined;
    },
  };

  return {
    sync(op, payload, nested) {
      const handler = syncOps[op];
      if (!handler) return failure(new Error(`unknown storage operation ${op}`));
      try {
        return answer(handler(parse(payload), nested));
      } catch (error) {
        return failure(error);
      }
    },
    async async(op, payload) {
      const handler = asyncOps[op];
      if (!handler) return failure(new Error(`unknown storage operation ${op}`));
      try {
        return answer(await handler(parse(payload)));
      } catch (error) {
        return failure(error);
      }
    },
    endEvent() {
      rollBackOpen();
    },
  };
}

function forgetClosed(transactions: Map<number, OpenTransaction>): void {
  const closed = [...transactions].filter(([, entry]) => !entry.open);
  for (const [id] of closed.slice(0, Math.max(0, closed.length - MAX_CLOSED_TRANSACTIONS))) transactions.delete(id);
}

function parse(payload: string): Record<string, unknown> {
  const value = parseFromSandbox(payload, "a storage operation");
  if (typeof value !== "object" || value === null) throw new TypeError("a storage operation takes a JSON object");
  return value as Record<string, unknown>;
}

function answer(value: unknown): string {
  if (value === undefined) return "{}";
  if (value instanceof Map) return JSON.stringify({ m: [...value] });
  return JSON.stringify({ v: value });
}

function failure(error: unknown): string {
  const e = error instanceof Error ? error : new Error(String(error));
  return JSON.stringify({ e: { name: e.name || "Error", message: e.message } });
}
