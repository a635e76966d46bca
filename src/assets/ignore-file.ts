/**
 * `.assetsignore`: gitignore-format patterns of files in the assets directory that are not served.
 * @module
 */

/** The file's name, at the root of the assets directory. */
export const IGNORE_FILE_NAME = ".assetsignore";

/** Never served, whatever `.assetsignore` says: the ignore file itself and the two rule files. */
const ALWAYS_IGNORED = [`/${IGNORE_FILE_NAME}`, "/_redirects", "/_headers"];

interface IgnoreRule {
  readonly negated: boolean;
  readonly directoryOnly: boolean;
  readonly regExp: RegExp;
}

/**
 * Decides which paths of the assets directory `.assetsignore` leaves out, with gitignore's rules:
 * `#` comments, `!` re-includes, a trailing `/` matches directories only, a pattern with a `/`
 * before its end is anchored at the root (else it matches at any depth), `*`, `?`, `[…]` and `**`.
 * A file inside an ignored directory stays ignored, as in git.
 * @example
 * const list = IgnoreList.parse("*.map\n!keep.map\n/drafts/");
 * list.ignores("js/app.js.map"); // true
 */
export class IgnoreList {
  readonly #rules: IgnoreRule[];

  private constructor(rules: IgnoreRule[]) {
    this.#rules = rules;
  }

  /** The rules of an `.assetsignore` text (undefined: no file), after the always-ignored files. */
  static parse(text: string | undefined): IgnoreList {
    const lines = [...ALWAYS_IGNORED, ...(text ?? "").split("\n")];
    return new IgnoreList(lines.map(parseLine).filter((rule) => rule !== undefined));
  }

  /** True when `relativePath` ("a/b.txt", `/`-separated) or one of its parent directories is ignored. */
  ignores(relativePath: string, isDirectory = false): boolean {
    const segments = relativePath.split("/").filter((segment) => segment !== "");
    for (let depth = 1; depth <= segments.length; depth++) {
      const prefix = segments.slice(0, depth).join("/");
      const prefixIsDirectory = depth < segments.length || isDirectory;
      if (this.#ignoresItself(prefix, prefixIsDirectory)) return true;
    }
    return false;
  }

  #ignoresItself(path: string, isDirectory: boolean): boolean {
    let ignored = false;
    for (const rule of this.#rules) {
      if (rule.directoryOnly && !isDirectory) continue;
      if (rule.negated === ignored && rule.regExp.test(path)) ignored = !rule.negated;
    }
    return ignored;
  }
}

function parseLine(raw: string): IgnoreRule | undefined {
  let line = raw.replace(/\r$/, "");
  // Trailing spaces end the pattern unless the last one is escaped.
  line = line.replace(/(?<!\\) +$/, "").replace(/\\ $/, " ");
  if (line === "" || line.startsWith("#")) return undefined;
  let negated = false;
  if (line.startsWith("!")) {
    negated = true;
    line = line.slice(1);
  } else if (line.startsWith("\\!") || line.startsWith("\\#")) {
    line = line.slice(1);
  }
  let directoryOnly = false;
  if (line.endsWith("/")) {
    directoryOnly = true;
    line = line.replace(/\/+$/, "");
  }
  if (line === "") return undefined;
  const anchored = line.includes("/");
  line = line.replace(/^\/+/, "");
  const body = globToRegExpSource(line);
  try {
    return { negated, directoryOnly, regExp: new RegExp(anchored ? `^${body}$` : `^(?:.*/)?${body}$`) };
  } catch {
    // A class JavaScript refuses (a reversed range such as `[z-a]`, which matches nothing in git) leaves the rule out.
    return undefined;
  }
}

/** gitignore's glob as a regular expression over a `/`-separated relative path. */
function globToRegExpSource(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === "*" && glob[i + 1] === "*") {
      const atStart = i === 0;
      const afterSlash = glob[i - 1] === "/";
      const beforeSlash = glob[i + 2] === "/";
      const atEnd = i + 2 === glob.length;
      if ((atStart || afterSlash) && beforeSlash) {
        out += "(?:.*/)?"; // "**/": any number of directories, none included
        i += 2;
        continue;
      }
      if (afterSlash && atEnd) {
        out += ".*"; // "/**": everything inside
        i += 1;
        continue;
      }
      out += "[^/]*";
      i += 1;
      continue;
    }
    if (char === "*") out += "[^/]*";
    else if (char === "?") out += "[^/]";
    else if (char === "\\" && i + 1 < glob.length) out += escapeRegExp(glob[++i]!);
    else if (char === "[") {
      const close = glob.indexOf("]", i + 2);
      if (close === -1) {
        out += "\\[";
        continue;
      }
      let inner = glob.slice(i + 1, close);
      const negate = inner.startsWith("!") || inner.startsWith("^");
      if (negate) inner = inner.slice(1);
      out += `[${negate ? "^" : ""}${inner.replace(/[\\\]]/g, "\\$&")}]`;
      i = close;
    } else out += escapeRegExp(char);
  }
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}
