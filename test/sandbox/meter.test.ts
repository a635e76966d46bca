/**
 * The call meter alone, with a heap the test sets: when it walks the heap, and what stops a call.
 */
import { describe, expect, it } from "vitest";
import { threadCpuMs } from "../../src/sandbox/cpu-clock.ts";
import { CallMeter } from "../../src/sandbox/quickjs-meter.ts";

const LIMIT = 4 * 1024 * 1024;
const budget = () => ({ cpuMs: 60_000, wallMs: 60_000, deadline: performance.now() + 60_000 });

/** Sleeps `ms` of wall time without using CPU time, as a thread the machine paused does. */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Uses `ms` of the thread's CPU time. */
function burn(ms: number): void {
  const end = threadCpuMs() + ms;
  while (threadCpuMs() < end);
}

function meter(heap: () => number): { meter: CallMeter; refused: () => number } {
  let refusals = 0;
  const m = new CallMeter(LIMIT, undefined, heap, () => void refusals++);
  return { meter: m, refused: () => refusals };
}

describe("the call meter", () => {
  it("spaces heap walks by CPU time: a walk the machine paused does not put the next one off", () => {
    let heap = 1024 * 1024;
    const { meter: m, refused } = meter(() => {
      pause(60); // 60 ms of wall time, next to no CPU time
      return heap;
    });
    m.begin(budget());
    m.enter();
    burn(6); // past the 5 ms between walks
    expect(m.shouldInterrupt()).toBe(false); // walked: 1 MiB
    heap = 3 * LIMIT; // the code allocates on while the walk's pause is over
    burn(6);
    // In wall time the paused walk looked 60 ms long and the next would wait 600 ms: the heap went unseen.
    expect(m.shouldInterrupt()).toBe(true);
    expect(m.limitError()).toMatchObject({ limit: "memoryBytes", message: "memory limit of 4 MiB exceeded (memoryBytes)" });
    expect(refused()).toBe(1); // the engine refuses the sandbox's allocations from now on
    m.exit();
  });

  it("does not walk again before 5 ms of CPU time", () => {
    let walks = 0;
    const { meter: m } = meter(() => {
      walks++;
      return 1024;
    });
    m.begin(budget());
    m.enter();
    burn(6);
    m.shouldInterrupt();
    m.shouldInterrupt();
    m.checkHostCall();
    expect(walks).toBe(1);
    burn(6);
    m.shouldInterrupt();
    expect(walks).toBe(2);
    m.exit();
  });

  it("a growth the instance's cap refuses stops the call at the memory limit, whatever the code does next", () => {
    const { meter: m, refused } = meter(() => 1024);
    m.begin(budget());
    m.enter();
    m.growthRefused();
    expect(() => m.checkHostCall()).toThrow("out of memory");
    expect(refused()).toBe(1);
    m.exit();
    m.finish();
    expect(m.limitError()?.limit).toBe("memoryBytes");
    // The next call of this sandbox is stopped at once: it can allocate nothing.
    m.begin(budget());
    expect(m.limitError()?.limit).toBe("memoryBytes");
  });
});
