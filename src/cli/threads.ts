import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import { existsSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { prepareShardLayout } from "../shards/layout.ts";
import type { Shard } from "../shards/shard.ts";
import type { RunOptions } from "./args.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { CliError, type CliErrorKind } from "./errors.ts";
import { runInOrder } from "./in-order.ts";
import { resolveProject } from "./project.ts";
import type { RunningServer } from "./server.ts";

/** How long a thread may take to stop before it is terminated. */
const THREAD_STOP_MS = 8_000;

/** What the first thread starts a shard thread with. */
export interface ShardThreadData {
  index: number;
  count: number;
  /** The server's options; its port is the first thread's, sent with {@link ShardServeMessage}. */
  options: RunOptions;
  cwd: string;
  ports: Array<[number, MessagePort]>;
}

/** What the first thread sends a shard thread once it listens: serve now, on this port. */
export interface ShardServeMessage {
  type: "serve";
  port: number;
  /** The first thread runs the inspector: this one answers what it forwards. */
  inspectorPeer: boolean;
}

/** What a shard thread reports. */
export type ShardThreadReport = { type: "ready" } | { type: "failed"; kind: CliErrorKind; message: string } | { type: "stopped-serving" } | { type: "stopped" };

/**
 * `hearth start --threads N`: this thread is shard 0 (with the inspector and mail), and
 * N-1 worker threads are the others, each a full host and server for the agents that hash to it, all
 * listening on one port (SO_REUSEPORT: the kernel spreads connections) and linked by MessagePorts.
 * A thread that dies takes the process down (a supervisor restarts it), as a crash of one process would.
 */
export async function startThreadedServer(options: RunOptions, cwd: string, count: number): Promise<RunningServer> {
  const mesh = meshPorts(count);
  // The other threads start first and wait for the port: their import of the runtime (~0.5 s of CPU
  // each) runs while this thread imports its own and starts its server, rather than after it
  // (docs/benchmarks.md, "How soon the CLI serves"). Nothing of theirs touches the data directory
  // before they are told to serve.
  const threadOptions: RunOptions = { ...options, inspector: false, smtpPort: undefined, defaulted: (options.defaulted ?? []).filter((what) => what !== "port") };
  const waiting = Array.from({ length: count - 1 }, (_, i) => spawnShardThread({ index: i + 1, count, options: threadOptions, cwd, ports: [...mesh[i + 1]!] }));
  /** The other threads' stop: this thread's bindings, which they use, close only after it. */
  let othersStopped: Promise<void> = Promise.resolve();
  const { shard, release, rebuilt, running } = await startFirstThread(options, cwd, count, mesh[0]!, () => othersStopped).catch(async (error: unknown) => {
    await Promise.allSettled(waiting.map((thread) => thread.abandon())); // they end unserved
    throw error;
  });
  const serve: ShardServeMessage = { type: "serve", port: Number(new URL(running.banner.url).port), inspectorPeer: running.banner.inspector !== undefined };
  const started = await Promise.allSettled(waiting.map((thread) => thread.serve(serve)));
  const threads = started.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value] : []));
  const failure = started.find((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
  // Every thread stops accepting and closes its connections first, while all hosts still run: a
  // request one thread took before it stopped is still answered by the agent's thread (stopping a
  // thread whole while the others served left them answering its agents' requests with 500s).
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled([running.stopServing?.(), ...threads.map((thread) => thread.stopServing())]);
    // The hosts then stop together: each waits for its running work (drainMs), and one after
    // another they would take that wait once per thread, past the CLI's limit on stopping. This
    // thread's bindings (KV, D1, queues, workflows), which the others reach, close after them.
    const others = Promise.allSettled(threads.map((thread) => thread.stop()));
    othersStopped = others.then(() => undefined);
    const hosts = (await Promise.all([others, Promise.allSettled([running.stop()])])).flat();
    await runInOrder([...hosts.map((outcome) => () => (outcome.status === "rejected" ? Promise.reject(outcome.reason as Error) : undefined)), () => shard.close(), release]);
  };
  if (failure) {
    await stopAll().catch(() => undefined);
    throw failure.reason;
  }
  for (const thread of threads) {
    thread.onCrash((detail) => {
      process.stderr.write(`hearth: thread ${thread.index} stopped unexpectedly; stopping the server\n${detail}\n`);
      void stopAll().finally(() => process.exit(1));
    });
  }
  const note = rebuilt ? "schedule index rebuilt for this thread count" : undefined;
  return { banner: { ...running.banner, threads: { count, ...(note ? { note } : {}) } }, stop: stopAll };
}

/** The first thread's server, with the data directory locked and laid out for `count` threads. */
interface FirstThread {
  shard: Shard;
  running: RunningServer;
  /** Unlocks the data directory. */
  release: () => void;
  /** The schedule index was rebuilt for a new thread count. */
  rebuilt: boolean;
}

/** Starts shard 0's server (this thread's); on failure leaves nothing locked or open. */
async function startFirstThread(options: RunOptions, cwd: string, count: number, ports: Map<number, MessagePort>, othersStopped: () => Promise<void>): Promise<FirstThread> {
  const project = await resolveProject(options, cwd);
  // Before the layout is touched: a change of thread count removes the host's files a running server uses.
  const release = lockDataDir(project.dataDir);
  let shard: Shard | undefined;
  try {
    const [{ startServer }, { Shard }] = await Promise.all([import("./server.ts"), import("../shards/shard.ts")]);
    shard = new Shard({ index: 0, count, ports });
    const hadAgents = existsSync(join(project.dataDir, "agents"));
    const rebuilt = prepareShardLayout(project.dataDir, count) && hadAgents;
    const running = await startServer(options, cwd, { shard, threads: count, bindingsOutlive: othersStopped });
    return { shard, running, release, rebuilt };
  } catch (error) {
    shard?.close();
    release();
    throw error;
  }
}

/** One MessageChannel per pair of shards: `mesh[i]` maps every other shard to shard i's port to it. */
function meshPorts(count: number): Array<Map<number, MessagePort>> {
  const mesh = Array.from({ length: count }, () => new Map<number, MessagePort>());
  for (let a = 0; a < count; a++) {
    for (let b = a + 1; b < count; b++) {
      const { port1, port2 } = new MessageChannel();
      mesh[a]!.set(b, port1);
      mesh[b]!.set(a, port2);
    }
  }
  return mesh;
}

interface ShardThread {
  readonly index: number;
  /** Stops accepting and closes connections; its host keeps running until {@link stop}. */
  stopServing(): Promise<void>;
  stop(): Promise<void>;
  onCrash(listener: (detail: string) => void): void;
}

/** A shard's worker thread, started and waiting to be told to serve. */
interface WaitingShardThread {
  /** Tells it to serve; settles when its server listens (or it fails). */
  serve(message: ShardServeMessage): Promise<ShardThread>;
  /** Ends it unserved (the first thread could not start). */
  abandon(): Promise<void>;
}

/** Starts a shard's worker thread: it loads the runtime, then waits for {@link WaitingShardThread.serve}. */
function spawnShardThread(data: ShardThreadData): WaitingShardThread {
  const entry = new URL(`./shard-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
  const worker = new Worker(entry, { workerData: data, transferList: data.ports.map(([, port]) => port) });
  let stopping = false;
  let crashed: ((detail: string) => void) | undefined;
  /** A crash is reported once: the error (with its stack, as on one thread), or else the exit code. */
  let reported = false;
  const report = (detail: string): void => {
    if (stopping || reported) return;
    reported = true;
    crashed?.(detail);
  };
  const exited = new Promise<number>((resolve) => worker.once("exit", resolve));
  worker.on("error", (error) => report(error.stack ?? error.message));
  void exited.then((code) => report(`exit code ${code}`));
  const ready = new Promise<ShardThread>((resolve, reject) => {
    const failBeforeReady = (detail: string) => reject(new CliError("startup", `Thread ${data.index} of ${data.count} could not start: ${detail}`));
    worker.once("error", (error) => failBeforeReady(error.message));
    void exited.then((code) => failBeforeReady(`it exited with code ${code}`));
    worker.on("message", (report: ShardThreadReport) => {
      if (report.type === "failed") reject(new CliError(report.kind, report.message));
      if (report.type !== "ready") return;
      resolve({
        index: data.index,
        onCrash: (listener) => void (crashed = listener),
        stopServing: () =>
          new Promise<void>((done) => {
            const onReport = (next: ShardThreadReport) => {
              if (next.type !== "stopped-serving") return;
              worker.off("message", onReport);
              done();
            };
            worker.on("message", onReport);
            void exited.then(() => done());
            worker.postMessage({ type: "stop-serving" });
          }),
        stop: async () => {
          stopping = true;
          const stopped = new Promise<void>((done) => {
            worker.on("message", (next: ShardThreadReport) => next.type === "stopped" && done());
            void exited.then(() => done());
          });
          worker.postMessage({ type: "stop" });
          const timer = setTimeout(() => void worker.terminate(), THREAD_STOP_MS);
          await stopped;
          clearTimeout(timer);
          // Its host is closed: what its code left running (an agent's timer) ends with the thread,
          // as the process's exit ends it on one thread, instead of holding the thread THREAD_STOP_MS.
          await worker.terminate();
        },
      });
    });
  });
  ready.catch(() => undefined); // a thread abandoned unserved may fail first: nobody waits for it then
  return {
    serve: (message) => {
      worker.postMessage(message);
      return ready;
    },
    abandon: async () => {
      stopping = true;
      await worker.terminate();
    },
  };
}
