/**
 * Splits a script into statements at top-level semicolons, skipping quoted text, comments and
 * trigger bodies (`CREATE TRIGGER … BEGIN …; …; END`). node:sqlite's prepare() silently ignores
 * everything after the first statement, so multi-statement `exec` needs this.
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let depth = 0; // BEGIN … END nesting inside CREATE TRIGGER
  let i = 0;
  const word = /[A-Za-z_]+/y;
  while (i < script.length) {
    const ch = script[i]!;
    if (ch === "'" || ch === '"' || ch === "`" || ch === "[") {
      const close = ch === "[" ? "]" : ch;
      const end = script.indexOf(close, i + 1);
      i = end === -1 ? script.length : end + 1;
    } else if (ch === "-" && script[i + 1] === "-") {
      const end = script.indexOf("\n", i);
      i = end === -1 ? script.length : end + 1;
    } else if (ch === "/" && script[i + 1] === "*") {
      const end = script.indexOf("*/", i + 2);
      i = end === -1 ? script.length : end + 2;
    } else if (/[A-Za-z_]/.test(ch)) {
      word.lastIndex = i;
      const token = word.exec(script)![0];
      const upper = token.toUpperCase();
      if (upper === "BEGIN" && isTriggerSoFar(script.slice(start, i))) depth++;
      else if (upper === "END" && depth > 0) depth--;
      i += token.length;
    } else if (ch === ";" && depth === 0) {
      pushIfStatement(statements, script.slice(start, i));
      start = i + 1;
      i++;
    } else {
      i++;
    }
  }
  pushIfStatement(statements, script.slice(start));
  return statements;
}

function isTriggerSoFar(text: string): boolean {
  return /^\s*CREATE\s+(TEMP\s+|TEMPORARY\s+)?TRIGGER\b/i.test(stripComments(text));
}

function stripComments(text: string): string {
  return text.replace(/--[^\n]*\n?/g, " ").replace(/\/\*[\s\S]*?\*\//g, " ");
}

function pushIfStatement(list: string[], text: string): void {
  if (stripComments(text).trim() !== "") list.push(text.trim());
}
