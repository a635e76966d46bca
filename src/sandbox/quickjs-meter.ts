/**
 * What the current call of one sandbox has used against its budget, and which limit stopped it:
 * CPU time inside the engine (the thread's CPU time, summed over the call's entries into the
 * engine), the wall clock, and memory. Memory is measured two ways, because this QuickJS build cannot
 * read malloc's usable sizes: its own limit counts 8 bytes per live allocation plus the one asked
 * for, so it stops a heap of small objects only at several times its setting, and its refusal leaves
 * no trace (the code may catch the InternalError). So it is set to twice the sandbox's limit, a guard
 * against one huge allocation only, and the limit is this meter's: the heap walk (what the sandbox's
 * objects hold, buffers included; it misses strings built by concatenation), and how much the
 * WebAssembly instance's memory grew while this sandbox ran during this call (everything it
 * allocated and kept). Builtins that copy or grow in a loop of their own run no check, so neither
 * measure may wait for the sandbox's code to pass one: the growth is seen as the instance asks for
 * it (past the limit, the sandbox's runtime refuses every allocation from then on, recorded here as
 * the memory limit whatever the code does with the error), and the heap is walked at interrupts,
 * host calls and returns to the host (at most every few ms of CPU time) and at the end of every call.
 */
import { threadCpuMs } from "./cpu-clock.ts";
import { EngineError, timeLimitError, type Budget, type LimitName } from "./engine.ts";

/**
 * How often a running sandbox's heap is walked at an interrupt, a host call or a return to the host,
 * in the thread's CPU time: the time the code had to allocate in. (In wall time, a walk the machine
 * paused looked costly and spaced the next one far out, while the code, running again, went on
 * allocating: a loaded host let a heap get several times past the limit unseen.)
 */
const MEMORY_CHECK_INTERVAL_MS = 5;
/**
 * A walk costs in proportion to the heap: after one, the next waits at least this many times the CPU
 * time it took (a large heap is walked less often, a tenth of the time at most). The end of a call
 * always walks it (unless nothing ran since the last walk): what a call keeps must be seen then.
 */
const WALK_SPACING = 10;

export class CallMeter {
  readonly #memoryBytes: number;
  /** The shard's instance memory, shared with the other sandboxes of the shard (one runs at a time). */
  readonly #memory: WebAssembly.Memory | undefined;
  /** Bytes in use by the sandbox's heap (the heap walk). */
  readonly #heapUsed: () => number;
  /** Makes the engine refuse the sandbox's allocations from now on. */
  readonly #refuseAllocations: () => void;
  #refused = false;
  #budget: Budget | undefined;
  #running = false;
  #enteredAt = 0;
  #cpuUsed = 0;
  #stopReason: LimitName | undefined;
  /** When the heap is walked next at an interrupt, a host call or a return (the thread's CPU time). */
  #nextMemoryCheck = 0;
  /** What the last heap walk found. */
  #walkedHeap = 0;
  /** The heap was walked after the engine last returned (nothing has run since). */
  #walkedSinceRun = false;
  /** Bytes the instance's memory grew while this sandbox ran in the current call (before the current entry). */
  #grown = 0;
  /** The instance's memory size when the current entry began. */
  #heapAtEnter = 0;

  constructor(memoryBytes: number, memory: WebAssembly.Memory | undefined, heapUsed: () => number, refuseAllocations: () => void) {
    this.#memoryBytes = memoryBytes;
    this.#memory = memory;
    this.#heapUsed = heapUsed;
    this.#refuseAllocations = refuseAllocations;
  }

  /** Whether the sandbox's code is running now (inside an entry into the engine). */
  get running(): boolean {
    return this.#running;
  }

  /** The current call's wall-clock deadline (performance.now()). */
  get deadline(): number {
    return this.#budget!.deadline;
  }

  /** The heap as walked after the engine last returned, if it was (nothing has run since). */
  get heapSinceRun(): number | undefined {
    return this.#walkedSinceRun ? this.#walkedHeap : undefined;
  }

  /** A new call with its own budget: nothing used yet, no limit reached. */
  begin(budget: Budget): void {
    this.#budget = budget;
    this.#cpuUsed = 0;
    this.#grown = 0;
    // Stopped at the memory limit after its call ended (a host answer settled): the sandbox can allocate nothing.
    this.#stopReason = this.#refused ? "memoryBytes" : undefined;
  }

  /** The engine is entered: its CPU time and the instance's memory growth count from now. */
  enter(): void {
    this.#running = true;
    this.#walkedSinceRun = false;
    this.#enteredAt = threadCpuMs();
    this.#heapAtEnter = this.#memory ? this.#memory.buffer.byteLength : 0;
  }

  /** The engine returned: adds this entry's CPU time and memory growth to the call's, and checks the memory. */
  exit(): void {
    this.#running = false;
    const cpu = threadCpuMs();
    this.#cpuUsed += cpu - this.#enteredAt;
    if (this.#memory) this.#grown += this.#memory.buffer.byteLength - this.#heapAtEnter;
    this.#poll(cpu);
  }

  /**
   * The instance is about to grow by at least `bytes` while this sandbox runs. Once the call's
   * growth passes the limit, the call stops at it and the engine refuses the sandbox's further
   * allocations: a builtin looping on its own runs no check, and would take the shared instance to
   * its cap. What it grows by (the allocator takes more than it needs) is counted at the next check.
   */
  grows(bytes: number): void {
    if (this.#stopReason === "memoryBytes" || this.#grownNow() + bytes > this.#memoryBytes) this.#stopAtMemory();
  }

  /** The instance's memory could not grow for this sandbox's allocation (its cap): the allocation failed, as past the limit. */
  growthRefused(): void {
    this.#stopAtMemory();
  }

  /**
   * The call stops at the memory limit, and the engine refuses the sandbox's allocations from now on:
   * code that caught the error raised at a check could go on allocating in builtins that run none.
   */
  #stopAtMemory(): void {
    this.#stopReason ??= "memoryBytes";
    if (this.#refused) return;
    this.#refused = true;
    this.#refuseAllocations();
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
    if (this.#stopReason !== undefined) return true;
    const cpu = threadCpuMs();
    if (this.#cpuUsed + (cpu - this.#enteredAt) > budget.cpuMs) this.#stopReason = "cpuMs";
    else if (performance.now() > budget.deadline) this.#stopReason = "wallMs";
    else this.#poll(cpu);
    return this.#stopReason !== undefined;
  }

  /**
   * A host call from the sandbox's code: checks the memory as an interrupt does, and throws into
   * that code once a limit stopped the call (the host's operation is not made).
   */
  checkHostCall(): void {
    this.#poll(threadCpuMs());
    this.#throwIfStopped();
  }

  /**
   * The end of a call, whatever ran: the growth is checked, and the heap walked unless nothing ran
   * since the last walk; over the limit, the call stops at it. (Skipping the walk when the instance
   * did not grow missed what a call kept in memory an earlier sandbox had freed.)
   */
  finish(): void {
    if (this.#stopReason !== undefined || !this.#budget) return;
    if (this.#grownNow() > this.#memoryBytes) this.#stopAtMemory();
    else if (!this.#walkedSinceRun && this.#walk(threadCpuMs()) > this.#memoryBytes) this.#stopAtMemory();
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
      // A measure after the fact (ahead 0) lets a recent walk stand: the instance's growth, checked
      // every time, guards what came since; walking at every MiB of a loop cost more than its work.
      const cpu = threadCpuMs();
      const heap = ahead > 0 || cpu >= this.#nextMemoryCheck ? this.#walk(cpu) : this.#walkedHeap;
      if (this.#grownNow() > this.#memoryBytes || ahead > this.#memoryBytes || heap + ahead > this.#memoryBytes) this.#stopAtMemory();
      else this.#checkClock(budget);
    }
    this.#throwIfStopped();
  }

  /**
   * Called by the prelude between the steps of a long native search, where the interrupt never
   * comes: over the CPU budget or past the deadline, the run stops (the call then fails with that limit).
   */
  checkTime(): void {
    const budget = this.#budget;
    if (this.#stopReason === undefined && budget) this.#checkClock(budget);
    this.#throwIfStopped();
  }

  /** Stops the run once the call's CPU time or wall clock is spent. */
  #checkClock(budget: Budget): void {
    if (this.#cpuUsed + (threadCpuMs() - this.#enteredAt) > budget.cpuMs) this.#stopReason = "cpuMs";
    else if (performance.now() > budget.deadline) this.#stopReason = "wallMs";
  }

  #throwIfStopped(): void {
    if (this.#stopReason === "memoryBytes") throw new Error("out of memory");
    if (this.#stopReason !== undefined) throw new Error(`the call was stopped (${this.#stopReason})`);
  }

  /**
   * The memory check of an interrupt, a host call or a return to the host (at `cpu`, the thread's CPU
   * time): the growth (a subtraction) every time, the heap walk (work in proportion to the heap) at
   * most every MEMORY_CHECK_INTERVAL_MS.
   */
  #poll(cpu: number): void {
    if (this.#stopReason !== undefined || !this.#budget) return;
    if (this.#grownNow() > this.#memoryBytes) this.#stopAtMemory();
    else if (cpu >= this.#nextMemoryCheck && this.#walk(cpu) > this.#memoryBytes) this.#stopAtMemory();
  }

  /** Walks the heap (begun at `cpu`, the thread's CPU time): the bytes in use. */
  #walk(cpu: number): number {
    const used = (this.#walkedHeap = this.#heapUsed());
    const after = threadCpuMs();
    this.#nextMemoryCheck = cpu + Math.max(MEMORY_CHECK_INTERVAL_MS, WALK_SPACING * (after - cpu));
    this.#walkedSinceRun = !this.#running;
    return used;
  }

  /** The error of the limit that stopped the call, if one did. */
  limitError(): EngineError | undefined {
    const reason = this.#stopReason;
    if (!reason) return undefined;
    if (reason === "memoryBytes") return new EngineError(`memory limit of ${mib(this.#memoryBytes)} exceeded (memoryBytes)`, reason, true);
    return timeLimitError(reason === "cpuMs" ? "cpuMs" : "wallMs", this.#budget!);
  }

  /** The instance's growth charged to this call so far. */
  #grownNow(): number {
    const memory = this.#memory;
    return memory && this.#running ? this.#grown + (memory.buffer.byteLength - this.#heapAtEnter) : this.#grown;
  }

}

/** `32 MiB`, or bytes when not a whole number of MiB. */
export function mib(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}
