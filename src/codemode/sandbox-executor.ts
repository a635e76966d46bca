/**
 * The default executor: a fresh hearth sandbox per run, with the tools as `codemode` in its env.
 */
import { Sandbox } from "../sandbox/index.ts";
import type { CodeExecutor, ExecuteResult, HostFunction } from "./executor.ts";

/**
 * Limits of each run's sandbox; omitted fields take the sandbox's defaults (32 MiB, 50 ms CPU,
 * 5 s wall clock, 1 MiB output at the time of writing: see src/sandbox).
 *
 * @example
 * ```ts
 * const limits: SandboxExecutorOptions = { cpuMs: 200, wallMs: 30_000 };
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
  return {
    async execute(code: string, fns: Readonly<Record<string, HostFunction>>): Promise<ExecuteResult> {
      const sandbox = await Sandbox.create({ ...options, env: { codemode: { ...fns } }, globalOutbound: null });
      try {
        const run = await sandbox.runFunction<unknown>(code);
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
