/** What the environment says about tracing, readable without loading the tracer (the CLI parses flags with it). */

/**
 * Whether the environment turns traces off: `HEARTH_TRACES` set to `0`, `false`, `off` or `no`, or
 * `OTEL_SDK_DISABLED=true`.
 * @example if (!tracesDisabledByEnv()) enableTracing();
 */
export function tracesDisabledByEnv(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  const value = env.HEARTH_TRACES?.trim().toLowerCase();
  return value === "0" || value === "false" || value === "off" || value === "no" || env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true";
}
