/**
 * Fibers a feature runs on any agent (a team run, …) are recovered by that feature, not by the
 * agent's `onFiberRecovered`: the feature registers the name prefix of its fibers and a recoverer,
 * which starts the work again (without awaiting it: recovery runs before `onStart`).
 */
import type { FiberRecoveryContext } from "./types.ts";
import { RESERVED_FIBER_PREFIX } from "./validate.ts";

/**
 * How a built-in feature runs its fibers on an agent: `runFiber`, with a name under the reserved
 * `hearth:` prefix, which `runFiber` refuses to user code (the feature recovers them, not onFiberRecovered).
 * @example
 * void agent[RUN_FEATURE_FIBER]("hearth:team:" + id, () => execute(id));
 */
export const RUN_FEATURE_FIBER: unique symbol = Symbol("hearth.runFeatureFiber");

/** An agent that runs fibers (every Agent). */
export interface FeatureFiberRunner {
  [RUN_FEATURE_FIBER]<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

/** Resumes an interrupted fiber of the feature on `agent`. */
export type FeatureFiberRecoverer = (agent: object, ctx: FiberRecoveryContext) => void | Promise<void>;

const recoverers = new Map<string, FeatureFiberRecoverer>();

/**
 * Claims every interrupted fiber whose name starts with `prefix` (which must start with the reserved
 * `hearth:`, which user fibers cannot use). The feature starts its fibers with RUN_FEATURE_FIBER.
 * @example
 * registerFiberRecoverer("hearth:team:", (agent, ctx) => void resumeRun(agent, ctx.name.slice(12)));
 */
export function registerFiberRecoverer(prefix: string, recover: FeatureFiberRecoverer): void {
  if (!prefix.startsWith(RESERVED_FIBER_PREFIX)) throw new TypeError(`A feature fiber prefix must start with "hearth:" (got ${JSON.stringify(prefix)})`);
  recoverers.set(prefix, recover);
}

/** True when a feature claimed the fiber (and resumed it). */
export async function recoverFeatureFiber(agent: object, ctx: FiberRecoveryContext): Promise<boolean> {
  for (const [prefix, recover] of recoverers) {
    if (!ctx.name.startsWith(prefix)) continue;
    await recover(agent, ctx);
    return true;
  }
  return false;
}
