/**
 * Tool calls and the end of a code run, through both entry points (createCodeTool and
 * createCodeTools' execute): a call that had not started when the run ended never executes (the
 * code gets an error if it is still there to see it); a call that had started is waited for and
 * reported in the output, so nothing a run set off happens after the model got its result.
 */
import { jsonSchema, tool, type Tool, type ToolExecutionOptions } from "ai";
import { afterEach, describe, expect, it } from "vitest";
import { createCodeTool, createCodeTools, sandboxExecutor, type CodeExecutor, type CodeModeTools, type CodeToolOutput } from "../../src/codemode/index.ts";
import { RunCalls } from "../../src/codemode/run-calls.ts";

type CodeTool = Tool<{ code: string }, CodeToolOutput>;

const entryPoints: Array<[string, (tools: CodeModeTools, executor?: CodeExecutor) => CodeTool]> = [
  ["createCodeTool", (tools, executor) => createCodeTool(executor === undefined ? { tools } : { tools, executor })],
  ["createCodeTools", (tools, executor) => createCodeTools(executor === undefined ? { tools, mode: "declarations" } : { tools, mode: "declarations", executor }).tools.execute],
];

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const timers: NodeJS.Timeout[] = [];
afterEach(() => {
  for (const timer of timers.splice(0)) clearTimeout(timer);
});

/** Whether `promise` settles within `ms`: a bounded wait for something that must not happen. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([
    promise.then(() => true, () => true),
    new Promise<boolean>((resolve) => timers.push(setTimeout(() => resolve(false), ms))),
  ]);
}

async function run(codeTool: CodeTool, code: string, execution: Partial<ToolExecutionOptions<unknown>> = {}): Promise<CodeToolOutput> {
  if (codeTool.execute === undefined) throw new Error("no execute");
  return (await codeTool.execute({ code }, { toolCallId: "call-1", messages: [], context: undefined, ...execution })) as CodeToolOutput;
}

const noInput = jsonSchema<Record<string, unknown>>({ type: "object" });

/** The default executor, and a promise that resolves as its run is over (before the code tool's output is). */
function watchedSandbox(): { executor: CodeExecutor; ended: Promise<void> } {
  const ended = deferred();
  const inner = sandboxExecutor();
  const executor: CodeExecutor = {
    async execute(code, fns) {
      try {
        return await inner.execute(code, fns);
      } finally {
        ended.resolve();
      }
    },
  };
  return { executor, ended: ended.promise };
}

interface SenderOptions {
  /** Holds its validation until `until` resolves. */
  hold?: { entered: () => void; until: Promise<void> };
  /** Runs as its execute starts. */
  onStart?: () => void;
  /** Its execute ends a timer turn after this resolves. */
  finishAfter?: Promise<void>;
}

/** A side-effecting tool that records when its execute starts and ends. */
function sender({ hold, onStart, finishAfter }: SenderOptions = {}) {
  const state = { started: [] as string[], finished: [] as string[], executed: deferred() };
  const send = tool({
    description: "Sends a message.",
    inputSchema: jsonSchema<{ to: string }>({ type: "object", properties: { to: { type: "string" } }, required: ["to"], additionalProperties: false }, {
      validate: async (value) => {
        if (hold !== undefined) {
          hold.entered();
          await hold.until;
        }
        return { success: true, value: value as { to: string } };
      },
    }),
    execute: async ({ to }) => {
      state.started.push(to);
      state.executed.resolve();
      onStart?.();
      await finishAfter;
      await new Promise((resolve) => timers.push(setTimeout(resolve, 0)));
      state.finished.push(to);
      return `sent to ${to}`;
    },
  });
  return { send, state };
}

describe.each(entryPoints)("%s: tool calls and the end of the run", (_name, make) => {
  it("a call started and not awaited is waited for and reported before the output is returned", async () => {
    const started = deferred();
    const sandbox = watchedSandbox();
    const { send, state } = sender({ onStart: started.resolve, finishAfter: sandbox.ended });
    const whenStarted = tool({ description: "Resolves once send has started.", inputSchema: noInput, execute: async () => started.promise });
    const out = await run(make({ send, when_started: whenStarted }, sandbox.executor), `async () => {
      codemode.send({ to: "ann" });
      await codemode.when_started();
      return "done";
    }`);
    expect(out.result).toBe("done");
    expect(state.finished).toEqual(["ann"]);
    expect(out.logs).toEqual(["[warn] codemode.send was still running when the run ended; the run waited for it: it completed"]);
  });

  it("more than ten calls left running are reported ten by name, then in one line", async () => {
    const allStarted = deferred();
    const sandbox = watchedSandbox();
    const { send, state } = sender({ onStart: () => state.started.length === 12 && allStarted.resolve(), finishAfter: sandbox.ended });
    const whenStarted = tool({ description: "Resolves once every send has started.", inputSchema: noInput, execute: async () => allStarted.promise });
    const out = await run(make({ send, when_started: whenStarted }, sandbox.executor), `async () => {
      for (let i = 0; i < 12; i++) codemode.send({ to: "user" + i });
      await codemode.when_started();
      return "done";
    }`);
    expect(state.finished).toHaveLength(12);
    expect(out.logs).toHaveLength(11);
    expect(out.logs[9]).toBe("[warn] codemode.send was still running when the run ended; the run waited for it: it completed");
    expect(out.logs[10]).toBe("[warn] 2 more calls were still running when the run ended; the run waited for them: 2 completed, 0 failed, 0 still running after 30 s");
  });

  it("a call whose input was still being validated when the run ended never executes", async () => {
    const entered = deferred();
    const release = deferred();
    const { send, state } = sender({ hold: { entered: entered.resolve, until: release.promise } });
    const out = await run(make({ send }), `async () => { codemode.send({ to: "bob" }); return "done"; }`);
    expect(out).toEqual({ result: "done", logs: [] });
    // The sandbox delivered the call (its validation began) before it was disposed.
    expect(await settlesWithin(entered.promise, 2_000)).toBe(true);
    release.resolve();
    expect(await settlesWithin(state.executed.promise, 300)).toBe(false);
    expect(state.started).toEqual([]);
  });

  it("a call made after the executor's run resolved is refused with a clear error", async () => {
    const { send, state } = sender();
    const late = deferred<unknown>();
    // An executor whose code is still alive after the run: it calls a tool once the run is over.
    const lingering: CodeExecutor = {
      async execute(_code, fns) {
        timers.push(setTimeout(() => fns.send!({ to: "cy" }).then(late.resolve, late.resolve), 0));
        return { result: "done", logs: [] };
      },
    };
    const out = await run(make({ send }, lingering), "async () => 'done'");
    expect(out).toEqual({ result: "done", logs: [] });
    const error = await late.promise;
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe("codemode: the run has ended; codemode.send was not called");
    expect(state.started).toEqual([]);
  });

  it("a call running when a limit stops the sandbox is aborted, waited for and reported", async () => {
    const outcome: string[] = [];
    const slow = tool({
      description: "Takes a long time.",
      inputSchema: noInput,
      execute: async (_input, { abortSignal }): Promise<string> => {
        await new Promise<void>((resolve) => {
          abortSignal?.addEventListener("abort", () => resolve(), { once: true });
          const fallback = setTimeout(resolve, 20_000);
          fallback.unref();
          timers.push(fallback);
        });
        outcome.push(abortSignal?.aborted === true ? "aborted" : "finished");
        throw new Error("stopped before the end");
      },
    });
    const out = await run(make({ slow }, sandboxExecutor({ wallMs: 150 })), "async () => { await codemode.slow(); return 'never'; }");
    expect(out.error?.limit).toBe("wallMs");
    expect(outcome).toEqual(["aborted"]);
    expect(out.logs).toEqual(["[warn] codemode.slow was still running when the run ended; the run waited for it: it failed: stopped before the end"]);
  });

  it("a call whose validation ends after the tool call was aborted never executes", async () => {
    const entered = deferred();
    const release = deferred();
    const { send, state } = sender({ hold: { entered: entered.resolve, until: release.promise } });
    const controller = new AbortController();
    const output = run(make({ send }), `async () => { await codemode.send({ to: "dee" }); return "sent"; }`, { abortSignal: controller.signal });
    await entered.promise;
    controller.abort();
    release.resolve();
    const out = await output;
    expect(out.error?.message).toContain("codemode: the run was aborted; codemode.send was not called");
    expect(state.started).toEqual([]);
  });
});

describe("the wait for calls left running", () => {
  it("is bounded: a tool that ignores its abort signal is reported still running, and the run's output is returned", async () => {
    const calls = new RunCalls(undefined);
    let aborted = false;
    void calls.start("hang", () => {
      calls.signal.addEventListener("abort", () => (aborted = true));
      return new Promise<never>(() => {}); // never settles, whatever the signal says
    });
    const reports = await calls.end(true, 50);
    expect(aborted).toBe(true);
    expect(reports).toEqual(["[warn] codemode.hang was still running 0.05 s after the run ended; its result is not in this output"]);
    expect(() => calls.check("hang")).toThrow("codemode: the run has ended; codemode.hang was not called");
  });
});
