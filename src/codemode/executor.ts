/**
 * The executor contract: something that runs the model's code with the tool functions in reach.
 * The default implementation (sandbox-executor.ts) uses a fresh `hearth` sandbox per run; tests or
 * other isolation technologies can pass their own.
 */

/**
 * A host function the code can call as `codemode.name(input)`; it returns a promise inside the code.
 *
 * @example
 * ```ts
 * const echo: HostFunction = async (input) => input;
 * ```
 */
export type HostFunction = (input?: unknown) => Promise<unknown>;

/**
 * What a run produced: the function's return value, or the error it ended with, and its console output.
 *
 * @example
 * ```ts
 * const ok: ExecuteResult = { result: 42, logs: [{ level: "log", message: "computing" }] };
 * const failed: ExecuteResult = { error: { name: "SandboxLimitError", message: "…", limit: "cpuMs" }, logs: [] };
 * ```
 */
export interface ExecuteResult {
  result?: unknown;
  error?: { name: string; message: string; limit?: string };
  logs: Array<{ level: string; message: string }>;
}

/**
 * Runs `code` (source of an `async () => { … }` function) with `fns` reachable as the object
 * `codemode` (`codemode.getWeather(input)` calls `fns.getWeather(input)` on the host).
 *
 * The run ends when the returned promise settles: from then on the code tools refuse every call of
 * `fns` (it rejects, the tool never runs), so an executor that lets the code linger, or delivers a
 * call late, cannot make a tool run unseen. Calls already running then are waited for by the code
 * tool, not by the executor.
 *
 * @example
 * ```ts
 * const executor: CodeExecutor = {
 *   async execute(code, fns) {
 *     const run = new Function("codemode", `return (${code}\n)()`); // NOT isolated: for tests only
 *     return { result: await run(fns), logs: [] };
 *   },
 * };
 * ```
 */
export interface CodeExecutor {
  execute(code: string, fns: Readonly<Record<string, HostFunction>>): Promise<ExecuteResult>;
}
