/**
 * A sandbox worker thread: the QuickJS engine (in this thread) and the contexts placed here. Calls
 * arrive as messages and are answered as messages; a sandbox's CPU time is this thread's, never the
 * host's. A sync host call (`__hearth_sync`) posts its request and sleeps on the sync channel until
 * the answer comes; while it sleeps, the host may ask for nested calls into the same sandbox (a
 * storage transaction around a callback), which run here and answer on the sync channel.
 */
import { setImmediate } from "node:timers"; // Node's own: never an application's fake one
import { parentPort, workerData } from "node:worker_threads";
import { EngineError, type Budget, type EngineContext, type EngineHost } from "../engine.ts";
import { QuickJSEngine } from "../quickjs-engine.ts";
import { RunStateWriter } from "./run-state.ts";
import { SyncChannel } from "./sync-channel.ts";
import { TO_HOST, TO_WORKER, fromWireError, toWireError, type FromWorker, type SyncRequest, type SyncToHost, type SyncToWorker, type ToWorker, type WorkerSetup, type WireBudget } from "./protocol.ts";

interface Entry {
  context: Promise<EngineContext>;
  ready: EngineContext | undefined;
  /** The running call's wall-clock deadline (this thread's performance.now()). */
  deadline: number;
  /** Answers of the sync operations that never change (EngineHost.constants). */
  constants: Record<string, string>;
  /** Measures the heap once calls have paused (see MEMORY_REPORT_DELAY_MS). */
  memoryTimer: NodeJS.Timeout | undefined;
}

/** A context's heap is reported this long after its last call, unless it is disposed first. */
const MEMORY_REPORT_DELAY_MS = 2;

const port = parentPort!;
const setup = workerData as WorkerSetup;
const channel = new SyncChannel<SyncToHost, SyncToWorker>(setup.port, setup.signal, TO_HOST, TO_WORKER);
const engine = new QuickJSEngine();
/** What this thread is doing, for the host's watchdog (run-state.ts). */
const runState = new RunStateWriter(setup.runState);
const contexts = new Map<number, Entry>();
const asyncCalls = new Map<number, { resolve: (value: string) => void; reject: (error: Error) => void }>();
let nextAsync = 1;
let nextSync = 1;
/** Sync calls waiting for their answer, innermost last: a nested request belongs to the innermost. */
const waiting: number[] = [];
/** How many nested calls the host is waiting for (it sleeps: sync requests must go by the sync channel). */
let nestedDepth = 0;
/** The host thread holds its turn open for a sandbox's synchronous run and reads only the sync channel. */
let held = false;

/** Sends by the port, or by the sync channel while the host thread waits on it. */
function post(message: FromWorker): void {
  if (held || nestedDepth > 0) channel.post(message);
  else port.postMessage(message);
}

/**
 * Lets the host thread go back to its event loop. Runs from setImmediate: after the sandbox's
 * synchronous run and the microtasks that follow it (a call's `done` is posted before this).
 */
function release(): void {
  if (!held) return;
  held = false;
  channel.post({ t: "release" });
}

function localBudget(budget: WireBudget): Budget {
  return { cpuMs: budget.cpuMs, deadline: performance.now() + budget.wallMsLeft, wallMs: budget.wallMs };
}

function hostOf(ctx: number, entry: () => Entry | undefined): EngineHost {
  return {
    syncCall: (op, payload) => entry()?.constants[op] ?? syncCall(ctx, op, payload, entry()?.deadline ?? performance.now()),
    asyncCall: (op, payload) =>
      new Promise<string>((resolve, reject) => {
        const id = nextAsync++;
        asyncCalls.set(id, { resolve, reject });
        post({ t: "async", ctx, id, op, payload });
      }),
  };
}

function syncCall(ctx: number, op: string, payload: string, deadline: number): string | undefined {
  const seq = nextSync++;
  post({ t: "sync", ctx, seq, op, payload } satisfies SyncRequest);
  waiting.push(seq);
  const endWait = runState.waiting(true);
  try {
    for (;;) {
      const message = channel.receive(Math.max(0, deadline - performance.now()) + setup.hostAnswerGraceMs);
      if (!message) {
        channel.post({ t: "gaveUp", seq });
        throw new Error(`the host did not answer ${op} within ${setup.hostAnswerGraceMs} ms of the call's wall-clock deadline (hostAnswerGraceMs)`);
      }
      if (message.t === "nested") {
        runNested(message);
        continue;
      }
      if (message.seq !== seq) continue; // the answer to a call that gave up waiting
      if (message.hold && !held) {
        held = true;
        setImmediate(release);
      }
      if (message.ok) return message.value;
      throw fromWireError(message.error!);
    }
  } finally {
    endWait();
    waiting.pop();
  }
}

function runNested(message: Extract<SyncToWorker, { t: "nested" }>): void {
  let reply: SyncToHost;
  const context = contexts.get(message.ctx)?.ready;
  if (message.seq !== waiting.at(-1) || !context) {
    reply = { t: "nestedDone", seq: message.seq, ok: false, error: toWireError(new EngineError("a nested call can only be made while the sandbox's code runs", undefined, false)) };
  } else {
    nestedDepth++;
    const resumeWait = runState.waiting(false);
    try {
      reply = { t: "nestedDone", seq: message.seq, ok: true, value: context.callNested(message.name, message.args) };
    } catch (error) {
      reply = { t: "nestedDone", seq: message.seq, ok: false, error: toWireError(error) };
    } finally {
      resumeWait();
      nestedDepth--;
    }
  }
  channel.post(reply);
}

async function run(message: Extract<ToWorker, { call: number }>): Promise<void> {
  const entry = contexts.get(message.ctx);
  let context: EngineContext | undefined;
  let reply: FromWorker;
  try {
    if (!entry) throw new EngineError("the sandbox was disposed", undefined, true);
    context = await entry.context;
    const budget = localBudget(message.budget);
    entry.deadline = budget.deadline;
    let value: string | undefined;
    if (message.t === "evalScript") await context.evalScript(message.source, message.filename, budget);
    else if (message.t === "evalModule") await context.evalModule(message.source, message.filename, message.modules, budget);
    else value = await context.invoke(message.name, message.args, budget);
    reply = { t: "done", call: message.call, ctx: message.ctx, ok: true, ...(value === undefined ? {} : { value }), alive: context.alive };
  } catch (error) {
    reply = { t: "done", call: message.call, ctx: message.ctx, ok: false, error: toWireError(error), alive: context?.alive ?? false };
  }
  post(reply);
  if (entry && context?.alive) reportMemoryLater(message.ctx, entry, context);
}

function reportMemoryLater(ctx: number, entry: Entry, context: EngineContext): void {
  clearTimeout(entry.memoryTimer);
  entry.memoryTimer = setTimeout(() => {
    entry.memoryTimer = undefined;
    if (contexts.get(ctx) === entry && context.alive) post({ t: "memory", ctx, bytes: context.memoryUsage });
  }, MEMORY_REPORT_DELAY_MS);
}

port.on("message", (message: ToWorker) => {
  switch (message.t) {
    case "create": {
      const entry: Entry = { context: undefined as unknown as Promise<EngineContext>, ready: undefined, deadline: 0, constants: message.constants, memoryTimer: undefined };
      entry.context = engine.createContext({ memoryBytes: message.memoryBytes, host: hostOf(message.ctx, () => contexts.get(message.ctx)), onRun: () => runState.running(message.ctx) });
      entry.context.then(
        (context) => (entry.ready = context),
        () => undefined,
      );
      contexts.set(message.ctx, entry);
      return;
    }
    case "evalScript":
    case "evalModule":
    case "invoke":
      void run(message);
      return;
    case "settle": {
      const pending = asyncCalls.get(message.id);
      if (!pending) return;
      asyncCalls.delete(message.id);
      if (message.ok) pending.resolve(message.value ?? "");
      else pending.reject(fromWireError(message.error!));
      return;
    }
    case "warm":
      // A context made and dropped: the WebAssembly instance it opened stays for the next sandboxes.
      void engine
        .createContext({ memoryBytes: 1024 * 1024, host: { syncCall: () => undefined, asyncCall: async () => "" } })
        .then((context) => context.dispose())
        .finally(() => post({ t: "warm" }));
      return;
    case "dispose": {
      const entry = contexts.get(message.ctx);
      contexts.delete(message.ctx);
      clearTimeout(entry?.memoryTimer);
      entry?.context.then(
        (context) => context.dispose(),
        () => undefined,
      );
      return;
    }
  }
});
