import type { SandboxEngine } from "./engine.ts";
import type { WorkerCode } from "./loader.ts";
import type { SandboxLimits } from "./sandbox.ts";
import { LOADED_CLASS, type LoadedClass } from "../facets/facets.ts";
import { requireJson } from "./loaded-json.ts";
import { createLoadedActor } from "./loaded-object.ts";

/** Options of `getDurableObjectClass(name, options)`. */
export interface DurableObjectClassOptions {
  /** `this.ctx.props` of every instance (JSON). */
  props?: unknown;
  /**
   * Sandbox limits of every instance, over the code's own `limits`: `memoryBytes`, `cpuMs`, `wallMs`,
   * `maxOutputBytes`. Cloudflare's `subRequests` is accepted and not enforced.
   */
  limits?: SandboxLimits & { subRequests?: number };
}

/**
 * A Durable Object class exported by code loaded at run time, for a facet's startup options
 * (`ctx.facets.get(name, () => ({ class }))`). Each facet made from it runs in a sandbox of its own,
 * with its own SQLite database reached only through the host.
 */
export interface LoadedDurableObjectClass extends LoadedClass {
  /** The loader id of the worker. */
  readonly workerId: string;
  /** The export name of the class in the worker's main module. */
  readonly exportName: string;
}

const LIMIT_NAMES = ["memoryBytes", "cpuMs", "wallMs", "maxOutputBytes", "subRequests"] as const;

/** @internal Made by `WorkerStub.getDurableObjectClass`. */
export function loadedDurableObjectClass(
  workerId: string,
  exportName: string,
  code: () => Promise<WorkerCode>,
  options: DurableObjectClassOptions,
  engine: SandboxEngine | undefined,
): LoadedDurableObjectClass {
  if (typeof exportName !== "string" || exportName.length === 0) throw new TypeError("getDurableObjectClass(name): name must be a non-empty string");
  if (typeof options !== "object" || options === null) throw new TypeError("getDurableObjectClass(name, options): options must be an object");
  if (options.props !== undefined) requireJson(options.props, "props", "getDurableObjectClass()");
  const limits = checkLimits(options.limits);
  const spec = { workerId, exportName, code, props: options.props, limits, engine };
  return {
    workerId,
    exportName,
    [LOADED_CLASS]: { className: exportName, create: (ctx, env) => createLoadedActor(spec, ctx, env) },
  };
}

function checkLimits(limits: unknown): SandboxLimits | undefined {
  if (limits === undefined) return undefined;
  if (typeof limits !== "object" || limits === null) throw new TypeError("getDurableObjectClass(): limits must be an object");
  for (const [name, value] of Object.entries(limits)) {
    if (!(LIMIT_NAMES as readonly string[]).includes(name)) {
      throw new TypeError(`getDurableObjectClass(): unknown limit ${JSON.stringify(name)} (known: ${LIMIT_NAMES.join(", ")})`);
    }
    if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value) || value <= 0)) {
      throw new RangeError(`getDurableObjectClass(): limits.${name} must be a positive number, got ${String(value)}`);
    }
  }
  return limits as SandboxLimits;
}
