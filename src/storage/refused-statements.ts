import { SqlError } from "./errors.ts";

/**
 * What an agent's SQL may not do: control transactions (Hearth commits each event itself) or set the
 * header field Hearth marks unsynced files with. And how a statement that may change the schema is known.
 */
const TRANSACTION_CONTROL = /^\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b/i;
/** The header field that marks a file written without fsync (connection.ts): Hearth's, not the user's. */
const APPLICATION_ID = /^\s*PRAGMA\s+(?:[\w"`[\]]+\s*\.\s*)?["`[]?application_id\b/i;
/** Statements that may add, remove or rename a table (after leading comments). */
export const SCHEMA_CHANGE = /^(\s*(--[^\n]*\n|\/\*[\s\S]*?\*\/))*\s*(CREATE|DROP|ALTER)\b/i;

/** Transactions are implicit; a user's COMMIT or ROLLBACK would break every event's atomicity. */
export function refuseTransactionControl(query: string): void {
  const text = query.replace(/^(\s*(--[^\n]*\n|\/\*[\s\S]*?\*\/))*/, "");
  if (APPLICATION_ID.test(text)) {
    throw new SqlError(new Error("PRAGMA application_id is reserved: Hearth marks files written without fsync with it"), query);
  }
  const match = TRANSACTION_CONTROL.exec(text);
  if (match) {
    throw new SqlError(
      new Error(`${match[1]!.toUpperCase()} is not allowed: Hearth commits each event's writes itself; use ctx.storage.transactionSync(fn) for an atomic block`),
      query,
    );
  }
}
