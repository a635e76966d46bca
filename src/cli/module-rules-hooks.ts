/**
 * wrangler's module rules as Node module customization hooks: an import matching a rule loads as
 * its type (Text → string, Data → ArrayBuffer, CompiledWasm → WebAssembly.Module). In-thread
 * through `module.registerHooks` (which `require` goes through too), else on the loader thread
 * through `module.register`; so only Node's own modules are imported here.
 * @module
 */
import { fileURLToPath } from "node:url";

/** The rules as the hooks get them: regular expressions as source text, so they cross threads. */
export interface ModuleRulesData {
  /** The rules in force for Text, Data and CompiledWasm, first match wins. */
  rules: Array<{ type: string; patterns: string[] }>;
  /** Rules left out because an earlier one of their type has no `fallthrough`, and why: importing by one is an error. */
  ignored: Array<{ why: string; patterns: string[] }>;
}
interface ResolveResult {
  url: string;
  shortCircuit?: boolean;
  format?: string | null | undefined;
}
interface LoadResult {
  format: string;
  source: string | Uint8Array;
  shortCircuit?: boolean;
}
type NextResolve = (specifier: string, context?: unknown) => ResolveResult | Promise<ResolveResult>;
type NextLoad = (url: string, context?: unknown) => LoadResult | Promise<LoadResult>;

interface Compiled {
  type: string;
  patterns: RegExp[];
}

let rules: Compiled[] = [];
let ignored: Array<{ why: string; patterns: RegExp[] }> = [];
/** The type each module URL a rule matched loads as. */
const typed = new Map<string, string>();

/** Takes the rules to apply from now on (the async hooks' `initialize`, and the in-thread setup). */
export function initialize(data: ModuleRulesData): void {
  rules = data.rules.map(({ type, patterns }) => ({ type, patterns: patterns.map((source) => new RegExp(source)) }));
  ignored = data.ignored.map(({ why, patterns }) => ({ why, patterns: patterns.map((source) => new RegExp(source)) }));
}

/**
 * The type an import loads as: the first rule whose glob matches the specifier as written
 * (`./page.html`), as wrangler's bundler matches it.
 *
 * @throws {Error} when only a rule left out by the fallthrough rules matches, as wrangler refuses it.
 */
function typeOf(specifier: string, parentURL: string | undefined): string | undefined {
  const rule = rules.find(({ patterns }) => patterns.some((pattern) => pattern.test(specifier)));
  if (rule !== undefined) return rule.type;
  const left = ignored.find(({ patterns }) => patterns.some((pattern) => pattern.test(specifier)));
  if (left === undefined) return undefined;
  const error = new Error(`Cannot import ${specifier}: ${left.why}`);
  // The hooks' own frames say nothing to the project: the stack names the importing file instead.
  error.stack = `Error: ${error.message}${parentURL === undefined ? "" : `\n    imported by ${parentURL.startsWith("file:") ? fileURLToPath(parentURL) : parentURL}`}`;
  throw error;
}

function remember(type: string, result: ResolveResult): ResolveResult {
  if (result.url.startsWith("file:")) typed.set(result.url, type);
  return result;
}

export function resolve(specifier: string, context: unknown, next: NextResolve): ResolveResult | Promise<ResolveResult> {
  const parentURL = (context as { parentURL?: unknown } | undefined)?.parentURL;
  const type = typeOf(specifier, typeof parentURL === "string" ? parentURL : undefined);
  const result = next(specifier, context);
  if (type === undefined) return result;
  return result instanceof Promise ? result.then((resolved) => remember(type, resolved)) : remember(type, result);
}

export function load(url: string, context: unknown, next: NextLoad): LoadResult | Promise<LoadResult> {
  const type = typed.get(url);
  if (type === undefined) return next(url, context);
  const path = fileURLToPath(url);
  // Read when the module runs, not here: a large .wasm or .bin stays out of the module's source text.
  const read = `import { readFileSync } from "node:fs";\nconst path = ${JSON.stringify(path)};\n`;
  switch (type) {
    case "Text":
      return { format: "module", source: `${read}export default readFileSync(path, "utf8");\n`, shortCircuit: true };
    case "Data":
      return { format: "module", source: `${read}const bytes = readFileSync(path);\nexport default bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);\n`, shortCircuit: true };
    default:
      return { format: "module", source: `${read}export default new WebAssembly.Module(readFileSync(path));\n`, shortCircuit: true };
  }
}
