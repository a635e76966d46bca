/**
 * The default executor: a fresh hearth sandbox per run, with the tools as `codemode` inside it.
 */
import { Sandbox } from "../sandbox/index.ts";
import type { CodeExecutor, ExecuteResult, HostFunction } from "./executor.ts";
import { DEFAULT_CODE_WALL_MS } from "./limits.ts";

/**
 * Limits of each run's sandbox; omitted fields take the sandbox's defaults (32 MiB, 50 ms CPU,
 * 1 MiB output at the time of writing: see src/sandbox), except the wall clock: 30 s
 * (`DEFAULT_CODE_WALL_MS`), since it includes the tool calls the code awaits.
 *
 * @example
 * ```ts
 * const limits: SandboxExecutorOptions = { cpuMs: 200, wallMs: 60_000 };
 * ```
 */
export interface SandboxExecutorOptions {
  memoryBytes?: number;
  cpuMs?: number;
  wallMs?: number;
  maxOutputBytes?: number;
}

/**
 * An executor that creates a sandbox per run (no network: `globalOutbound` stays null), runs the
 * code, and disposes of the sandbox, whatever happened.
 *
 * @example
 * ```ts
 * const codemode = createCodeTool({ tools, executor: sandboxExecutor({ wallMs: 10_000 }) });
 * ```
 */
export function sandboxExecutor(options: SandboxExecutorOptions = {}): CodeExecutor {
  const limits = { ...options, wallMs: options.wallMs ?? DEFAULT_CODE_WALL_MS };
  return {
    async execute(code: string, fns: Readonly<Record<string, HostFunction>>): Promise<ExecuteResult> {
      const sandbox = await Sandbox.create({ ...limits, env: { codemode: dispatcher(fns) }, globalOutbound: null });
      try {
        const run = await sandbox.runFunction<unknown>(withNamespace(code, Object.keys(fns)));
        const result: ExecuteResult = { logs: run.logs };
        if (run.error !== undefined) result.error = run.error;
        else if (run.result !== undefined) result.result = run.result;
        return result;
      } finally {
        sandbox.dispose();
      }
    },
  };
}

/**
 * The one capability the sandbox gets: `(name, input?)` calls `fns[name]`. Passing the functions one
 * by one as an env object would not do: the sandbox's env leaves out members named `constructor` or
 * starting with `_` (an object's internals), and tool identifiers may be any of those.
 */
function dispatcher(fns: Readonly<Record<string, HostFunction>>): (name: unknown, ...args: unknown[]) => Promise<unknown> {
  return async (name, ...args) => {
    const fn = typeof name === "string" && Object.hasOwn(fns, name) ? fns[name] : undefined;
    if (fn === undefined) throw new TypeError(`codemode.${String(name)} is not a function`);
    return args.length === 0 ? fn() : fn(args[0]);
  };
}

/**
 * The code's function inside one that first makes `codemode` an object with one own method per
 * name (defined, not assigned: `__proto__`, `constructor` or `toString` are methods like any other),
 * each calling the dispatcher, and puts it where the code looks (`codemode`, `env.codemode`). The
 * setup runs in a function of its own, so the code sees none of its names.
 */
function withNamespace(code: string, names: readonly string[]): string {
  return `async () => {
  (() => {
    const call = codemode, api = {};
    for (const name of ${JSON.stringify(names)}) {
      Object.defineProperty(api, name, { value: { [name]: (...args) => call(name, ...args) }[name], writable: true, enumerable: true, configurable: true });
    }
    globalThis.codemode = env.codemode = api;
  })();
  return await (${code}
)();
}`;
}
