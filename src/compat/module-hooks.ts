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
interface LoadResult {
  format: string;
  source?: string | ArrayBuffer | Uint8Array | null | undefined;
  shortCircuit?: boolean;
}
type NextResolve = (specifier: string, context?: unknown) => ResolveResult | Promise<ResolveResult>;
type NextLoad = (url: string, context?: unknown) => LoadResult | Promise<LoadResult>;

/** URLs of modules Hearth does not provide: loading one throws, naming it. */
const UNAVAILABLE = "hearth-unavailable:";

let data: HookData = { map: {}, prefixes: [] };

/** Where a specifier resolves, when it is one of the mapped (or claimed but unmapped) modules. */
export function resolveMapped(specifier: string, hookData: HookData): ResolveResult | undefined {
  const mapped = hookData.map[specifier];
  if (mapped !== undefined) return { url: mapped, shortCircuit: true };
  if (hookData.prefixes.some((prefix) => specifier.startsWith(prefix))) {
    return { url: UNAVAILABLE + encodeURIComponent(specifier), shortCircuit: true, format: "commonjs" };
  }
  return undefined;
}

/** The source of an unavailable module: it throws when evaluated (from `import` or `require`). */
export function loadUnavailable(url: string, hookData: HookData): LoadResult | undefined {
  if (!url.startsWith(UNAVAILABLE)) return undefined;
  const specifier = decodeURIComponent(url.slice(UNAVAILABLE.length));
  const message =
    `Hearth does not provide "${specifier}" yet. Modules it maps: ${Object.keys(hookData.map).join(", ")}. ` +
    `See docs/compat.md for what each covers.`;
  return { format: "commonjs", source: `throw new Error(${JSON.stringify(message)});`, shortCircuit: true };
}

// The async hooks (module.register).
export function initialize(received: HookData): void {
  data = received;
}

export function resolve(specifier: string, context: unknown, next: NextResolve): ResolveResult | Promise<ResolveResult> {
  return resolveMapped(specifier, data) ?? next(specifier, context);
}

export function load(url: string, context: unknown, next: NextLoad): LoadResult | Promise<LoadResult> {
  return loadUnavailable(url, data) ?? next(url, context);
}
