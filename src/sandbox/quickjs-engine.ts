/**
 * The QuickJS engine (quickjs-emscripten, release-sync WebAssembly build shipped in the npm package:
 * nothing is compiled or downloaded at install or run time).
 *
 * One QuickJS runtime + context per sandbox (quickjs-context.ts). Runtimes live inside shared
 * WebAssembly module instances ("shards", quickjs-shard.ts): a shard takes sandboxes while the sum of
 * their memory limits stays under SHARD_COMMIT_BYTES, so one sandbox can always grow to its own limit
 * (WebAssembly memory is capped at 2 GiB per instance). The compiled WebAssembly.Module is shared by
 * all shards. A retired shard takes no new sandboxes and is dropped when its last sandbox is disposed.
 *
 * This engine runs on the thread that uses it: on the host thread as `inThreadEngine()`, and inside
 * each worker thread of the worker pool (pool/worker-main.ts), which is the default engine.
 */
import type { EngineContext, EngineContextOptions, SandboxEngine } from "./engine.ts";
import { QuickJSEngineContext } from "./quickjs-context.ts";
import { SHARD_COMMIT_BYTES, newShard, type Shard } from "./quickjs-shard.ts";

/**
 * The QuickJS engine: hands out sandbox contexts, packed into shards by their memory limits.
 * @example
 * const context = await quickJSEngine().createContext({ memoryBytes: 32 * 1024 * 1024, host });
 */
export class QuickJSEngine implements SandboxEngine {
  readonly name = "quickjs";
  readonly #shards: Shard[] = [];
  #opening: Promise<Shard> | undefined;

  async createContext(options: EngineContextOptions): Promise<EngineContext> {
    const shard = await this.#shardFor(options.memoryBytes);
    const context = new QuickJSEngineContext(shard, options, () => this.#release(shard, context, options.memoryBytes));
    shard.committed += options.memoryBytes;
    shard.contexts.add(context);
    return context;
  }

  /** Shards in use (for tests and benchmarks). */
  get shardCount(): number {
    return this.#shards.length;
  }

  /** Bytes of WebAssembly memory held by the shards in use (for tests and benchmarks). */
  get instanceBytes(): number {
    return this.#shards.reduce((sum, shard) => sum + (shard.memory?.buffer.byteLength ?? 0), 0);
  }

  async #shardFor(memoryBytes: number): Promise<Shard> {
    for (;;) {
      const fit = this.#shards.find((s) => !s.retired && (s.committed + memoryBytes <= SHARD_COMMIT_BYTES || s.contexts.size === 0));
      if (fit) return fit;
      if (!this.#opening) {
        this.#opening = newShard().then(
          (shard) => {
            this.#shards.push(shard);
            this.#opening = undefined;
            return shard;
          },
          (error: unknown) => {
            this.#opening = undefined;
            throw error;
          },
        );
      }
      await this.#opening;
    }
  }

  #release(shard: Shard, context: QuickJSEngineContext, memoryBytes: number): void {
    if (!shard.contexts.delete(context)) return;
    shard.committed -= memoryBytes;
    if (shard.retired && shard.contexts.size === 0) {
      const i = this.#shards.indexOf(shard);
      if (i >= 0) this.#shards.splice(i, 1);
    }
  }
}

let shared: QuickJSEngine | undefined;
/** The process-wide QuickJS engine on the calling thread (the same as `inThreadEngine()`). */
export function quickJSEngine(): QuickJSEngine {
  return (shared ??= new QuickJSEngine());
}

/**
 * Sandboxes on the calling thread: no thread hop per call, but a sandbox's CPU time is the
 * caller's (its event loop waits while a sandbox computes). The default is the worker pool.
 * @example
 * const sandbox = await Sandbox.create({ engine: inThreadEngine() });
 */
export function inThreadEngine(): QuickJSEngine {
  return quickJSEngine();
}
