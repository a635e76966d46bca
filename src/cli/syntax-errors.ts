import { readFileSync } from "node:fs";
import { extname, isAbsolute, relative, resolve, sep } from "node:path";

/** One syntax error: where it is (1-based line and column) and what it is. */
export interface SyntaxProblem {
  /** Absolute path of the file. */
  file: string;
  line: number;
  column: number;
  text: string;
  /** The file's lines (empty when it could not be read), for the lines shown around the error. */
  lines: readonly string[];
}

/** esbuild's lines in a failed transform's message: `<file>:<line>:<column, 0-based, in bytes>: ERROR: <text>`. */
const ESBUILD_LINE = /^(.+):(\d+):(\d+): ERROR: (.*)$/;

/**
 * The syntax errors behind a failed import, when it failed on one: esbuild's (a TypeScript file, read
 * from its message, since it reaches here without its structured errors) or V8's for a JavaScript
 * file (which names no place: the entry is parsed again to find it). Undefined for anything else.
 */
export async function syntaxProblemsOf(error: unknown, entryPath: string): Promise<SyntaxProblem[] | undefined> {
  if (!(error instanceof Error)) return undefined;
  if (error.name === "TransformError" || error.message.startsWith("Transform failed with")) {
    const sources = new Map<string, string[]>();
    const problems = error.message.split("\n").flatMap((line) => {
      const match = ESBUILD_LINE.exec(line);
      if (match === null) return [];
      const [, file = "", lineNumber = "0", byteColumn = "0", text = ""] = match;
      const path = isAbsolute(file) ? file : resolve(file);
      const lines = sources.get(path) ?? linesOf(path);
      sources.set(path, lines);
      return [problemAt(path, lines, Number(lineNumber), Number(byteColumn), text)];
    });
    return problems.length > 0 ? problems : undefined;
  }
  if (error.name === "SyntaxError" && !hasOwnFrame(error)) return (await parseProblems(entryPath)) ?? [];
  return undefined;
}

/** Whether a stack names a place outside Node's own loader (a SyntaxError thrown by code, not by the parser). */
function hasOwnFrame(error: Error): boolean {
  return (error.stack ?? "").split("\n").some((line) => /^\s+at /.test(line) && !/[( ]node:[a-z_]/.test(line));
}

/** Where esbuild finds a syntax error in `path`, if it finds one. */
async function parseProblems(path: string): Promise<SyntaxProblem[] | undefined> {
  const loaders: Record<string, "js" | "jsx" | "ts" | "tsx"> = { ".js": "js", ".mjs": "js", ".cjs": "js", ".jsx": "jsx", ".ts": "ts", ".mts": "ts", ".cts": "ts", ".tsx": "tsx" };
  const loader = loaders[extname(path).toLowerCase()];
  if (loader === undefined) return undefined;
  const lines = linesOf(path);
  try {
    const { transform } = await import("esbuild");
    await transform(lines.join("\n"), { loader, sourcefile: path, format: "esm", logLevel: "silent" });
    return undefined;
  } catch (error) {
    const errors = (error as { errors?: Array<{ text: string; location: { line: number; column: number } | null }> }).errors;
    const problems = (errors ?? []).flatMap(({ text, location }) => (location === null ? [] : [problemAt(path, lines, location.line, location.column, text)]));
    return problems.length > 0 ? problems : undefined;
  }
}

/** A problem at a 0-based byte offset into a line of `lines`: its column is 1-based, in characters. */
function problemAt(file: string, lines: readonly string[], line: number, byteColumn: number, text: string): SyntaxProblem {
  const lineText = lines[line - 1];
  const column = (lineText === undefined ? byteColumn : Buffer.from(lineText, "utf8").subarray(0, byteColumn).toString("utf8").length) + 1;
  return { file, line, column, text, lines };
}

/** The lines of `path`, read once for every problem in it; none when it cannot be read. */
function linesOf(path: string): string[] {
  try {
    return readFileSync(path, "utf8").split(/\r?\n/);
  } catch {
    return [];
  }
}

/**
 * The problems as a terminal shows them: `syntax error in file:line:column: text` (the file relative
 * to `cwd` when inside it, so an editor or terminal can open it there), then the line before, the line
 * and a caret.
 */
export function formatSyntaxProblems(problems: readonly SyntaxProblem[], cwd: string): string {
  return problems
    .map(({ file, line, column, text, lines }) => {
      const rel = relative(cwd, file);
      const shown = rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel) ? rel : file;
      return [`syntax error in ${shown}:${line}:${column}: ${text}`, ...codeFrame(lines, line, column)].join("\n");
    })
    .join("\n");
}

function codeFrame(lines: readonly string[], line: number, column: number): string[] {
  if (line < 1 || line > lines.length) return [];
  const width = String(line).length;
  const numbered = (n: number, mark: string): string => `  ${mark} ${String(n).padStart(width)} | ${lines[n - 1] ?? ""}`;
  const frame = line > 1 ? [numbered(line - 1, " ")] : [];
  frame.push(numbered(line, ">"));
  // Tabs stay tabs under the caret, so it lines up however wide the terminal draws them.
  const lead = (lines[line - 1] ?? "").slice(0, Math.max(0, column - 1)).replace(/[^\t]/g, " ");
  frame.push(`    ${" ".repeat(width)} | ${lead}^`);
  return frame;
}
