/**
 * A shard: one instance of the QuickJS WebAssembly module, holding the runtimes of several sandboxes.
 * A shard takes sandboxes while the sum of their memory limits stays under SHARD_COMMIT_BYTES, so
 * one sandbox can always grow to its own limit (WebAssembly memory is capped at 2 GiB per instance).
 * A shard that can no longer be trusted (a native stack overflow or a trap inside it) is retired: it
 * takes no new sandboxes and is dropped when its last sandbox is disposed.
 */
import type { QuickJSEngineContext } from "./quickjs-context.ts";
import type { CallMeter } from "./quickjs-meter.ts";
import { newQuickJSInstance, type QuickJSInstance } from "./quickjs-wasm.ts";

/** Sum of the memory limits of the sandboxes in one WebAssembly instance (its memory maxes at 2 GiB). */
export const SHARD_COMMIT_BYTES = 1024 * 1024 * 1024;

/**
 * How far an instance's memory may outgrow the sum of its sandboxes' limits (`shardSpareBytes`).
 * WebAssembly memory never shrinks, and the allocator's growth and fragmentation are more than a
 * sandbox's limit sees: an instance past this after a call is retired (it takes no new sandboxes and
 * its memory is released once its last sandbox is disposed), so a worker does not ratchet up for good.
 */
export const SHARD_SPARE_BYTES = 64 * 1024 * 1024;

export interface Shard extends QuickJSInstance {
  /** The meter of the sandbox running now (one runs at a time): told before the instance's memory grows, and when it could not. */
  running: CallMeter | undefined;
  committed: number;
  contexts: Set<QuickJSEngineContext>;
  retired: boolean;
}

export async function newShard(): Promise<Shard> {
  const state = { running: undefined as CallMeter | undefined, committed: 0, contexts: new Set<QuickJSEngineContext>(), retired: false };
  // Growth while no sandbox runs (the host making a runtime) is the host's.
  const instance = await newQuickJSInstance({ grows: (bytes) => state.running?.grows(bytes), refused: () => state.running?.growthRefused() });
  return Object.assign(state, instance);
}

/** Retires `shard` if its instance's memory has outgrown its sandboxes' limits by more than SHARD_SPARE_BYTES. */
export function retireIfOutgrown(shard: Shard): void {
  if (!shard.retired && shard.memory && shard.memory.buffer.byteLength > shard.committed + SHARD_SPARE_BYTES) retireShard(shard);
}

/** Called when a shard can no longer be trusted with new sandboxes. */
export function retireShard(shard: Shard): void {
  shard.retired = true;
}
