import { SqlError } from "./errors.ts";

/**
 * What an agent's SQL may not do: control transactions (Hearth commits each event itself) or set the
 * header field Hearth marks unsynced files with. And how a statement that may change the schema is known.
 */
const TRANSACTION_CONTROL = /^\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b/i;
/** The header field that marks a file written without fsync (connection.ts): Hearth's, not the user's. */
const APPLICATION_ID = /^\s*PRAGMA\s+(?:[\w"`[\]]+\s*\.\s*)?["`[]?application_id\b/i;
/** Statements that may add, remove or rename a table. */
const SCHEMA_CHANGE = /^(CREATE|DROP|ALTER)\b/i;

/** Whether `query` may add, remove or rename a table (its first statement, after what SQLite skips). */
export function changesSchema(query: string): boolean {
  return SCHEMA_CHANGE.test(query.slice(leadingLength(query)));
}

/**
 * How many characters SQLite skips before the first statement's first keyword: white space,
 * comments, and empty statements (`;`), so that `"; COMMIT"` is a COMMIT to it. A scan rather than a
 * pattern: a pattern over runs of comments backtracks without end on text it does not match.
 */
export function leadingLength(query: string): number {
  let at = 0;
  while (at < query.length) {
    const char = query[at]!;
    if (char === ";" || /\s/.test(char)) at++;
    else if (query.startsWith("--", at)) {
      const end = query.indexOf("\n", at + 2);
      at = end < 0 ? query.length : end + 1;
    } else if (query.startsWith("/*", at)) {
      const end = query.indexOf("*/", at + 2);
      at = end < 0 ? query.length : end + 2;
    } else break;
  }
  return at;
}

/**
 * What an `EXPLAIN` or `EXPLAIN QUERY PLAN` statement explains (what SQLite skips between its words
 * skipped too), or undefined when `query` is no EXPLAIN. SQLite prepares the statement it explains,
 * and a PRAGMA takes effect when prepared: a check of SQL must look at this as itself.
 */
export function explainedText(query: string): string | undefined {
  const skip = (text: string) => text.slice(leadingLength(text));
  let text = skip(query);
  if (!/^EXPLAIN\b/i.test(text)) return undefined;
  text = skip(text.slice("EXPLAIN".length));
  if (!/^QUERY\b/i.test(text)) return text;
  const plan = skip(text.slice("QUERY".length));
  return /^PLAN\b/i.test(plan) ? skip(plan.slice("PLAN".length)) : text;
}

/** Transactions are implicit; a user's COMMIT or ROLLBACK would break every event's atomicity. */
export function refuseTransactionControl(query: string): void {
  const text = query.slice(leadingLength(query));
  // SQLite reads a comment as white space anywhere: `PRAGMA/**/application_id` is the same pragma.
  if (/^PRAGMA\b/i.test(text) && APPLICATION_ID.test(text.replace(/\/\*[\s\S]*?(?:\*\/|$)|--[^\n]*/g, " "))) {
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
