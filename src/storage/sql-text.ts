/**
 * What D1 and an agent's `sql.exec` need to know about a query's text before it runs: its statements (node:sqlite's
 * prepare() silently ignores everything after the first), each one's parameters (node:sqlite does
 * not expose sqlite3_bind_parameter_count), and its first keyword. One pass over the text that
 * skips quoted strings, quoted identifiers and comments.
 */

export interface ScannedStatement {
  /** The statement's text, trimmed, without the terminating semicolon. */
  text: string;
  /** SQLite's parameter count: the largest index used (`?` takes the previous largest + 1). */
  parameterCount: number;
  /** The first named parameter (`:name`, `@name`, `$name`), which D1 does not support. */
  namedParameter: string | undefined;
  /** The first keyword, upper-cased ("SELECT", "INSERT", "CREATE", …). */
  keyword: string;
}

const IDENTIFIER_START = /[A-Za-z_\u0080-\uffff]/;
const IDENTIFIER_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const WORD = /[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/y;
const DIGITS = /[0-9]+/y;
/** The name of a `:`, `@` or `$` parameter: what SQLite's tokenizer reads as one (digits first too). */
const PARAMETER_NAME = /[A-Za-z0-9_$\u0080-\uffff]+/y;

/** Splits `sql` into statements and reads each one's parameters. Comment-only pieces are dropped. */
export function scanStatements(sql: string): ScannedStatement[] {
  const statements: ScannedStatement[] = [];
  let start = 0;
  let state = freshState();
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const ch = sql[i]!;
    if (ch === "'" || ch === '"' || ch === "`" || ch === "[") {
      i = skipQuoted(sql, i, ch === "[" ? "]" : ch);
      state.hasContent = true;
    } else if (ch === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      i = end === -1 ? n : end + 1;
    } else if (ch === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end === -1 ? n : end + 2;
    } else if (ch === "?") {
      DIGITS.lastIndex = i + 1;
      const digits = DIGITS.exec(sql);
      if (digits) {
        state.parameterCount = Math.max(state.parameterCount, Number(digits[0]));
        i += 1 + digits[0].length;
      } else {
        state.parameterCount += 1;
        i += 1;
      }
      state.hasContent = true;
    } else if ((ch === ":" || ch === "@" || ch === "$") && isNamedParameterAt(sql, i)) {
      PARAMETER_NAME.lastIndex = i + 1;
      const name = PARAMETER_NAME.exec(sql)![0];
      // Each new name takes the next index, as in SQLite; a name used again keeps its own.
      const key = ch + name;
      state.namedParameter ??= key;
      if (!state.names?.has(key)) {
        (state.names ??= new Set()).add(key);
        state.parameterCount += 1;
      }
      state.hasContent = true;
      i += 1 + name.length;
    } else if (IDENTIFIER_START.test(ch)) {
      WORD.lastIndex = i;
      const word = WORD.exec(sql)![0];
      readKeyword(state, word.toUpperCase());
      state.hasContent = true;
      i += word.length;
    } else if (ch === ";" && state.triggerDepth === 0) {
      if (state.hasContent) statements.push(finish(state, sql.slice(start, i)));
      state = freshState();
      start = i + 1;
      i += 1;
    } else {
      if (!/\s/.test(ch)) state.hasContent = true;
      i += 1;
    }
  }
  if (state.hasContent) statements.push(finish(state, sql.slice(start)));
  return statements;
}

interface ScanState {
  hasContent: boolean;
  parameterCount: number;
  namedParameter: string | undefined;
  /** The named parameters seen so far (made at the first one). */
  names?: Set<string>;
  /** The first three keywords: enough to recognise CREATE [TEMP] TRIGGER. */
  words: string[];
  /** Inside a trigger body (BEGIN … END), semicolons do not end the statement. */
  triggerDepth: number;
  /** CASE … END inside a trigger body, so its END does not close the body. */
  caseDepth: number;
}

function freshState(): ScanState {
  return { hasContent: false, parameterCount: 0, namedParameter: undefined, words: [], triggerDepth: 0, caseDepth: 0 };
}

function readKeyword(state: ScanState, word: string): void {
  if (state.words.length < 3) state.words.push(word);
  if (word === "BEGIN" && state.triggerDepth === 0 && isTrigger(state.words)) state.triggerDepth = 1;
  else if (state.triggerDepth > 0 && word === "CASE") state.caseDepth += 1;
  else if (state.triggerDepth > 0 && word === "END") {
    if (state.caseDepth > 0) state.caseDepth -= 1;
    else state.triggerDepth = 0;
  }
}

function isTrigger(words: string[]): boolean {
  return words[0] === "CREATE" && (words[1] === "TRIGGER" || ((words[1] === "TEMP" || words[1] === "TEMPORARY") && words[2] === "TRIGGER"));
}

function finish(state: ScanState, text: string): ScannedStatement {
  return {
    text: text.trim(),
    parameterCount: state.parameterCount,
    namedParameter: state.namedParameter,
    keyword: state.words[0] ?? "",
  };
}

/** After `close` is found; a doubled quote (`'it''s'`) continues the string. */
function skipQuoted(sql: string, open: number, close: string): number {
  let i = open + 1;
  for (;;) {
    const end = sql.indexOf(close, i);
    if (end === -1) return sql.length;
    if (close !== "]" && sql[end + 1] === close) {
      i = end + 2;
      continue;
    }
    return end + 1;
  }
}

/**
 * `:name` / `@name` / `$name` not glued to an identifier before it (`a$b` is one identifier). The name
 * may start with a digit (`$1`, `:1`, `@1`): SQLite takes those as named parameters too.
 */
function isNamedParameterAt(sql: string, i: number): boolean {
  const next = sql[i + 1];
  if (next === undefined || !IDENTIFIER_PART.test(next)) return false;
  const previous = i > 0 ? sql[i - 1]! : " ";
  return !IDENTIFIER_PART.test(previous);
}

/** Statements that change the schema: they count as a change of the database even when no row changes. */
export const SCHEMA_KEYWORDS = new Set(["CREATE", "DROP", "ALTER"]);

/** Statements that cannot write: they run without a transaction. */
export const READ_ONLY_KEYWORDS = new Set(["SELECT", "VALUES", "EXPLAIN"]);

/** Transaction control, which would break the transaction each call runs in. */
export const TRANSACTION_KEYWORDS = new Set(["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"]);
