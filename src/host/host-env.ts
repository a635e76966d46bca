/** The options `env` is built from. */
export interface HostEnvOptions {
  vars?: Record<string, unknown>;
  bindings?: Record<string, unknown>;
  defaultBindings?: Record<string, unknown>;
}

/**
 * What a worker's fetch, every actor and every capability plugged into the host receive as `env`:
 * variables, one namespace per actor class, the bindings given (platform bindings, workflows), and
 * each default binding whose name nothing else took (`LOADER`). Names may not clash.
 */
export function buildHostEnv(options: HostEnvOptions, namespaces: Record<string, unknown>): Record<string, unknown> {
  const env: Record<string, unknown> = { ...options.vars };
  for (const [className, namespace] of Object.entries(namespaces)) {
    if (className in env) throw new TypeError(`The class binding ${className} clashes with a variable of the same name`);
    env[className] = namespace;
  }
  for (const [name, value] of Object.entries(options.bindings ?? {})) {
    if (name in env) throw new TypeError(`The binding ${name} clashes with an agent class or variable of the same name`);
    env[name] = value;
  }
  for (const [name, value] of Object.entries(options.defaultBindings ?? {})) {
    if (!(name in env)) env[name] = value;
  }
  return env;
}
