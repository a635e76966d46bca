import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { SqlAuthorizer } from "./database-options.ts";

/**
 * A statement prepared for one use, outside the statement cache; with `authorize`, SQLite asks it
 * about each thing the statement does while compiling it (node:sqlite's `setAuthorizer`), and the
 * connection has no authorizer again afterwards.
 */
export function prepareOnce(db: DatabaseSync, query: string, authorize?: SqlAuthorizer): StatementSync {
  if (authorize === undefined) return db.prepare(query);
  db.setAuthorizer(authorize);
  try {
    return db.prepare(query);
  } finally {
    db.setAuthorizer(null);
  }
}
