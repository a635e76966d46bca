/**
 * The resolution of the modules in module-map.ts, as Node module customization hooks. Used in-thread
 * through `module.registerHooks` (Node ≥ 22.15: covers `require` too, which a project without
 * `"type": "module"` uses), else on the loader thread through `module.register`. Free of imports so it
 * loads anywhere.
 * @module
 */
export interface HookData {
  map: Record<string, string>;
  prefixes: string[];
}
interface ResolveResult {
  url: string;
  shortCircuit?: boolean;
  format?: string | null | undefined;
}
type NextResolve = (specifier: string, context?: unknown) => ResolveResult | Promise<ResolveResult>;

/** The `code` of the error an unmapped Cloudflare or Agents SDK module fails with. */
export const MODULE_NOT_PROVIDED = "ERR_HEARTH_MODULE_NOT_PROVIDED";

let data: HookData = { map: {}, prefixes: [] };

/** What an unmapped module fails with: its name, what Hearth maps, and where that is described. */
function notProvidedMessage(specifier: string, hookData: HookData): string {
  return (
    `Hearth does not provide "${specifier}" yet. Modules it maps: ${Object.keys(hookData.map).join(", ")}. ` +
    `See docs/compat.md for what each covers.`
  );
}

/**
 * Where a specifier resolves, when it is one of the mapped modules; undefined for a module that is not
 * Cloudflare's or the Agents SDK's.
 *
 * @throws {Error} code {@link MODULE_NOT_PROVIDED} for a claimed but unmapped module. Thrown here, at
 *   resolution, rather than by a stand-in module: an ES module links its named imports before any
 *   module runs, so a stand-in would fail first with Node's "does not provide an export named …".
 */
export function resolveMapped(specifier: string, hookData: HookData, parentURL?: string): ResolveResult | undefined {
  const mapped = hookData.map[specifier];
  if (mapped !== undefined) return { url: mapped, shortCircuit: true };
  if (!hookData.prefixes.some((prefix) => specifier.startsWith(prefix))) return undefined;
  const error = new Error(notProvidedMessage(specifier, hookData)) as Error & { code: string };
  error.code = MODULE_NOT_PROVIDED;
  // The hooks' own frames say nothing to the project: the stack names the importing file instead.
  error.stack = `Error: ${error.message}${parentURL === undefined ? "" : `\n    imported by ${displayPath(parentURL)}`}`;
  throw error;
}

/** A file URL as its path; any other URL as it is. */
function displayPath(url: string): string {
  return url.startsWith("file://") ? decodeURIComponent(new URL(url).pathname) : url;
}

/** The importing module's URL, from a resolve hook's context. */
function parentOf(context: unknown): string | undefined {
  const parentURL = (context as { parentURL?: unknown } | null | undefined)?.parentURL;
  return typeof parentURL === "string" ? parentURL : undefined;
}

// The async hooks (module.register).
export function initialize(received: HookData): void {
  data = received;
}

export function resolve(specifier: string, context: unknown, next: NextResolve): ResolveResult | Promise<ResolveResult> {
  return resolveMapped(specifier, data, parentOf(context)) ?? next(specifier, context);
}
