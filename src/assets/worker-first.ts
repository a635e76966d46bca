/**
 * `run_worker_first`: which requests the worker sees before the assets.
 * @module
 */
import { ASSET_LIMITS, AssetsConfigError } from "./limits.ts";

/** Where a request goes by `run_worker_first` alone; "either" lets the assets answer what they have. */
export type WorkerFirstDecision = "worker" | "assets" | "either";

/** `run_worker_first`, compiled. */
export interface WorkerFirstRules {
  /** True for the array form: the assets then answer every request the rules leave them, misses included. */
  readonly hasRoutes: boolean;
  decide(pathname: string): WorkerFirstDecision;
}

/**
 * Compiles `run_worker_first`. `true` sends every request to the worker first, `false` none; an
 * array holds path patterns where `*` matches anything (`/` included) and a leading `!` sends
 * matching paths to the assets: `["/api/*", "!/api/docs/*"]`. Negated rules win over the others,
 * whatever their order. Patterns are checked as wrangler checks them; a bad one throws
 * {@link AssetsConfigError} listing every problem.
 * @example
 * parseRunWorkerFirst(["/api/*", "!/api/docs/*"]).decide("/api/users"); // "worker"
 */
export function parseRunWorkerFirst(value: boolean | readonly string[]): WorkerFirstRules {
  if (value === true) return { hasRoutes: false, decide: () => "worker" };
  if (value === false) return { hasRoutes: false, decide: () => "either" };
  const { toWorker, toAssets } = validate(value);
  const workerPatterns = toWorker.map(compileGlob);
  const assetPatterns = toAssets.map(compileGlob);
  return {
    hasRoutes: true,
    decide(pathname) {
      if (assetPatterns.some((pattern) => pattern.test(pathname))) return "assets";
      if (workerPatterns.some((pattern) => pattern.test(pathname))) return "worker";
      return "either";
    },
  };
}

function validate(rules: readonly string[]): { toWorker: string[]; toAssets: string[] } {
  const { maxRunWorkerFirstRules: maxRules, maxRunWorkerFirstRuleLength: maxLength } = ASSET_LIMITS;
  if (rules.length === 0) throw new AssetsConfigError("assets.run_worker_first is an empty list; give at least one rule, or true / false");
  if (rules.length > maxRules) {
    throw new AssetsConfigError(`assets.run_worker_first has ${rules.length} rules; at most ${maxRules} are allowed`);
  }
  const toWorker: string[] = [];
  const toAssets: string[] = [];
  const problems: string[] = [];
  for (const rule of rules) {
    if (rule.startsWith("!/")) toAssets.push(rule.slice(1));
    else if (rule.startsWith("/")) toWorker.push(rule);
    else if (rule.startsWith("!")) problems.push(`"${rule}": a negated rule must start with "!/"`);
    else problems.push(`"${rule}": a rule must start with "/" or "!/"`);
  }
  if (toAssets.length > 0 && toWorker.length === 0 && problems.length === 0) {
    throw new AssetsConfigError("assets.run_worker_first has only negated (!) rules; give at least one rule without !");
  }
  for (const [group, prefix] of [
    [toWorker, ""],
    [toAssets, "!"],
  ] as const) {
    const seen = new Set<string>();
    for (const rule of group) {
      if (rule.length > maxLength) problems.push(`"${prefix}${rule}": longer than ${maxLength} characters`);
      if (seen.has(rule)) problems.push(`"${prefix}${rule}": a duplicate`);
      seen.add(rule);
      if (!rule.endsWith("*")) continue;
      for (const other of group) {
        if (other !== rule && other.startsWith(rule.slice(0, -1))) problems.push(`"${prefix}${other}": redundant, "${prefix}${rule}" already covers it`);
      }
    }
  }
  if (problems.length > 0) throw new AssetsConfigError(`assets.run_worker_first has invalid rules:\n${problems.join("\n")}`);
  return { toWorker, toAssets };
}

/**
 * Cloudflare's routing glob: `*` is any run of characters, `/` included; the rest is literal; the whole
 * path must match. Matched piece by piece (the first as a prefix, the last as a suffix, each one
 * between at its first place after the one before), in linear time: as a regular expression, a rule
 * with several stars backtracked for seconds on one long path.
 */
function compileGlob(rule: string): { test(path: string): boolean } {
  const pieces = rule.split("*");
  const first = pieces[0]!;
  const last = pieces.at(-1)!;
  if (pieces.length === 1) return { test: (path) => path === rule };
  return {
    test(path) {
      if (path.length < first.length + last.length || !path.startsWith(first) || !path.endsWith(last)) return false;
      let at = first.length;
      const end = path.length - last.length;
      for (const piece of pieces.slice(1, -1)) {
        const found = path.indexOf(piece, at);
        if (found === -1 || found + piece.length > end) return false;
        at = found + piece.length;
      }
      return true;
    },
  };
}
