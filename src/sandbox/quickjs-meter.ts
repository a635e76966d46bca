/**
 * What the current call of one sandbox has used against its budget, and which limit stopped it:
 * CPU time inside the engine (the thread's CPU time, summed over the call's entries into the
 * engine), the wall clock, and memory. Memory is measured two ways, because this QuickJS build cannot
 * read malloc's usable sizes, so its own limit sees each allocation alone (a loop of large strings
 * passes it): the heap walk (what the sandbox's objects hold; it misses strings built by
 * concatenation), and how much the WebAssembly instance's memory grew while this sandbox ran during
 * this call (everything it allocated and kept).
 */
import { threadCpuMs } from "./cpu-clock.ts";
import { EngineError, type Budget, type LimitName } from "./engine.ts";

/** How often a running sandbox's heap is measured against its memory limit, at an interrupt. */
const MEMORY_CHECK_INTERVAL_MS = 5;

export class CallMeter {
  readonly #memoryBytes: number;
  /** The shard's instance memory, shared with the other sandboxes of the shard (one runs at a time). */
  readonly #memory: WebAssembly.Memory | undefined;
  /** Bytes in use by the sandbox's heap (the heap walk). */
  readonly #heapUsed: () => number;
  #budget: Budget | undefined;
  #running = false;
  #enteredAt = 0;
  #cpuUsed = 0;
  #callStart = 0;
  #stopReason: LimitName | undefined;
  #nextMemoryCheck = 0;
  /** Bytes the instance's memory grew while this sandbox ran in the current call (before the current entry). */
  #grown = 0;
  /** The instance's memory size when the current entry began. */
  #heapAtEnter = 0;

  constructor(memoryBytes: number, memory: WebAssembly.Memory | undefined, heapUsed: () => number) {
    this.#memoryBytes = memoryBytes;
    this.#memory = memory;
    this.#heapUsed = heapUsed;
  }

  /** Whether the sandbox's code is running now (inside an entry into the engine). */
  get running(): boolean {
    return this.#running;
  }

  /** The current call's wall-clock deadline (performance.now()). */
  get deadline(): number {
    return this.#budget!.deadline;
  }

  /** A new call with its own budget: nothing used yet, no limit reached. */
  begin(budget: Budget): void {
    this.#budget = budget;
    this.#cpuUsed = 0;
    this.#grown = 0;
    this.#stopReason = undefined;
    this.#callStart = performance.now();
  }

  /** The engine is entered: its CPU time and the instance's memory growth count from now. */
  enter(): void {
    this.#running = true;
    this.#enteredAt = threadCpuMs();
    this.#heapAtEnter = this.#memory ? this.#memory.buffer.byteLength : 0;
  }

  /** The engine returned: adds this entry's CPU time and memory growth to the call's. */
  exit(): void {
    this.#running = false;
    this.#cpuUsed += threadCpuMs() - this.#enteredAt;
    if (this.#memory) this.#grown += this.#memory.buffer.byteLength - this.#heapAtEnter;
  }

  /** Records that `reason` stopped the call. */
  stop(reason: LimitName): void {
    this.#stopReason = reason;
  }

  /** The CPU time of the call's finished entries is over its budget. */
  get overCpu(): boolean {
    return this.#cpuUsed > this.#budget!.cpuMs;
  }

  /** QuickJS's interrupt handler: whether the running code must stop (a limit was reached). */
  shouldInterrupt(): boolean {
    const budget = this.#budget;
    if (!this.#running || !budget) return false;
    const now = performance.now();
    if (this.#cpuUsed + (threadCpuMs() - this.#enteredAt) > budget.cpuMs) this.#stopReason = "cpuMs";
    else if (now > budget.deadline) this.#stopReason = "wallMs";
    else if (now >= this.#nextMemoryCheck) {
      this.#nextMemoryCheck = now + MEMORY_CHECK_INTERVAL_MS;
      if (this.#overMemory()) this.#stopReason = "memoryBytes";
    }
    return this.#stopReason !== undefined;
  }

  /**
   * Called by the prelude after every MiB of new buffers and strings, where QuickJS's interrupt
   * (every 10,000 bytecodes) may be far off, and before an allocation of `ahead` bytes whose size
   * is known beforehand (a buffer, a repeated string): measures the heap (plus `ahead`) and the
   * call's CPU and wall clock; over a limit, the run stops (the call then fails with that limit),
   * before the allocation is made.
   */
  checkMemory(ahead = 0): void {
    const budget = this.#budget;
    if (this.#stopReason === undefined && budget) {
      if (this.#overMemory(ahead)) this.#stopReason = "memoryBytes";
      else if (this.#cpuUsed + (threadCpuMs() - this.#enteredAt) > budget.cpuMs) this.#stopReason = "cpuMs";
      else if (performance.now() > budget.deadline) this.#stopReason = "wallMs";
    }
    if (this.#stopReason === "memoryBytes") throw new Error("out of memory");
    if (this.#stopReason !== undefined) throw new Error(`the call was stopped (${this.#stopReason})`);
  }

  /** The error of the limit that stopped the call, if one did. */
  limitError(): EngineError | undefined {
    const reason = this.#stopReason;
    if (!reason) return undefined;
    const budget = this.#budget!;
    const message =
      reason === "cpuMs"
        ? `CPU budget of ${budget.cpuMs} ms exceeded (cpuMs)`
        : reason === "memoryBytes"
          ? `memory limit of ${mib(this.#memoryBytes)} exceeded (memoryBytes)`
          : `wall-clock timeout of ${Math.round(budget.deadline - this.#callStart)} ms (wallMs)`;
    return new EngineError(message, reason, true);
  }

  #overMemory(ahead = 0): boolean {
    const memory = this.#memory;
    const grown = memory && this.#running ? this.#grown + (memory.buffer.byteLength - this.#heapAtEnter) : this.#grown;
    if (grown > this.#memoryBytes) return true;
    return ahead > this.#memoryBytes || this.#heapUsed() + ahead > this.#memoryBytes;
  }
}

/** `32 MiB`, or bytes when not a whole number of MiB. */
export function mib(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}
