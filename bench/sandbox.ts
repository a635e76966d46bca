/**
 * Sandboxes (QuickJS in WebAssembly): the cost of one, and of code inside one, on the default
 * engine (the worker pool) and, for comparison, on the in-thread engine.
 *
 *   lifecycle   Sandbox.create + runFunction(small snippet) + dispose, p50/p99 (goal p50 ≤ 2 ms).
 *   memory      RSS and engine heap for N live sandboxes (each ran a snippet), per sandbox (goal ≤ 1 MiB);
 *               RSS is the whole process's, worker threads included.
 *   1,000 live  1,000 sandboxes alive at once, each called once more after all were created.
 *   host call   round trip of `await cap(x)` from inside (env capability), per call.
 *   CPU-heavy   the same function (sieve + sort + JSON) in a sandbox vs. in plain Node.
 *
 *   npm run build && node --expose-gc bench/sandbox.ts
 */
import { Sandbox, inThreadEngine, workerPoolEngine, type SandboxEngine } from "../dist/sandbox/index.js";
import { emit, log, percentile, type Row } from "./lib/common.ts";

const LIFECYCLE = 2_000;
const LIVE = 1_000;
const HOST_CALLS = 20_000;

const gc = (globalThis as { gc?: () => void }).gc;
function collect(): void {
  for (let i = 0; i < 3; i++) gc?.();
}

const ENGINES: Array<{ label: string; engine: SandboxEngine }> = [
  { label: "worker pool (default)", engine: workerPoolEngine() },
  { label: "in-thread", engine: inThreadEngine() },
];

async function lifecycle(rows: Row[], label: string, engine: SandboxEngine): Promise<void> {
  for (let i = 0; i < 200; i++) (await Sandbox.create({ engine })).dispose(); // warm-up: wasm compile, JIT
  const times: number[] = [];
  const createTimes: number[] = [];
  for (let i = 0; i < LIFECYCLE; i++) {
    const start = performance.now();
    const s = await Sandbox.create({ engine });
    const created = performance.now();
    const r = await s.runFunction<number>("async () => { const xs = [1, 2, 3].map((x) => x * 2); return xs.reduce((a, b) => a + b) }");
    s.dispose();
    times.push(performance.now() - start);
    createTimes.push(created - start);
    if (r.result !== 12) throw new Error(`unexpected result ${JSON.stringify(r)}`);
  }
  times.sort((a, b) => a - b);
  createTimes.sort((a, b) => a - b);
  log(`lifecycle (${label}): p50 ${percentile(times, 50).toFixed(3)} ms, p99 ${percentile(times, 99).toFixed(3)} ms`);
  rows.push(
    { bench: "sandbox", metric: `create + run a small function + dispose, p50, ${label}`, value: percentile(times, 50), unit: "ms", goal: { op: "<=", value: 2 }, note: `${LIFECYCLE} sequential` },
    { bench: "sandbox", metric: `create + run a small function + dispose, p99, ${label}`, value: percentile(times, 99), unit: "ms" },
    { bench: "sandbox", metric: `Sandbox.create alone, p50, ${label}`, value: percentile(createTimes, 50), unit: "ms", note: "runtime + context + prelude" },
  );
}

async function live(rows: Row[]): Promise<void> {
  collect();
  const rssBefore = process.memoryUsage().rss;
  const start = performance.now();
  const sandboxes: Sandbox[] = [];
  for (let i = 0; i < LIVE; i++) {
    const s = await Sandbox.create();
    await s.runFunction(`async () => { globalThis.state = { id: ${i}, items: [1, 2, 3] }; return state.id }`);
    sandboxes.push(s);
  }
  const created = performance.now() - start;
  collect();
  const rss = process.memoryUsage().rss - rssBefore;
  const heap = sandboxes.reduce((sum, s) => sum + s.memoryUsage, 0);
  const callStart = performance.now();
  let ok = 0;
  for (const [i, s] of sandboxes.entries()) if ((await s.runFunction("async () => state.id")).result === i) ok++;
  const called = performance.now() - callStart;
  if (ok !== LIVE) throw new Error(`only ${ok} of ${LIVE} sandboxes answered`);
  const workers = workerPoolEngine().workers.length;
  log(`${LIVE} live: RSS +${(rss / 2 ** 20).toFixed(1)} MiB, engine heap ${(heap / 2 ** 20).toFixed(1)} MiB, ${workers} worker threads`);
  rows.push(
    { bench: "sandbox", metric: "RSS per live sandbox", value: rss / LIVE / 1024, unit: "KiB", goal: { op: "<=", value: 1024 }, note: `${LIVE} live, each ran code and holds state; worker pool: ${workers} threads, their WebAssembly instances included` },
    { bench: "sandbox", metric: "engine heap per live sandbox", value: heap / LIVE / 1024, unit: "KiB", note: "QuickJS memory_used_size" },
    { bench: "sandbox", metric: `${LIVE} live sandboxes: created and run`, value: created, unit: "ms" },
    { bench: "sandbox", metric: `${LIVE} live sandboxes: one more call each`, value: called, unit: "ms", note: "all answered" },
  );
  for (const s of sandboxes) s.dispose();
}

async function hostCalls(rows: Row[], label: string, engine: SandboxEngine): Promise<void> {
  const s = await Sandbox.create({ engine, cpuMs: 60_000, wallMs: 60_000, env: { echo: (x: number) => x } });
  await s.runFunction("async () => { for (let i = 0; i < 1000; i++) await echo(i) }");
  const start = performance.now();
  const r = await s.runFunction<number>(`async () => { let sum = 0; for (let i = 0; i < ${HOST_CALLS}; i++) sum += await echo(i); return sum }`);
  const elapsed = performance.now() - start;
  if (r.error) throw new Error(r.error.message);
  log(`host call (${label}): ${((elapsed / HOST_CALLS) * 1000).toFixed(1)} µs per round trip`);
  rows.push({ bench: "sandbox", metric: `host-call round trip from inside (await env capability), ${label}`, value: (elapsed / HOST_CALLS) * 1000, unit: "µs", note: `${HOST_CALLS} sequential, JSON args/result` });
  s.dispose();
}

function heavy(n: number): number {
  const sieve = new Uint8Array(n + 1);
  let primes = 0;
  for (let i = 2; i <= n; i++) {
    if (sieve[i]) continue;
    primes++;
    for (let j = i * i; j <= n; j += i) sieve[j] = 1;
  }
  const items = [];
  for (let i = 0; i < 20000; i++) items.push({ k: (i * 7919) % 10007, s: "item" + i });
  items.sort((a, b) => a.k - b.k);
  const json = JSON.stringify(items);
  return primes + JSON.parse(json).length;
}

async function cpuHeavy(rows: Row[]): Promise<void> {
  const N = 2_000_000;
  const source = `async () => { ${heavy.toString()}; return heavy(${N}) }`;
  const s = await Sandbox.create({ cpuMs: 60_000, wallMs: 60_000, memoryBytes: 256 * 1024 * 1024 });
  await s.runFunction(source);
  const runs = 5;
  let start = performance.now();
  let inside = 0;
  for (let i = 0; i < runs; i++) inside = (await s.runFunction<number>(source)).result!;
  const sandboxMs = (performance.now() - start) / runs;
  heavy(N);
  start = performance.now();
  let native = 0;
  for (let i = 0; i < runs; i++) native = heavy(N);
  const nodeMs = (performance.now() - start) / runs;
  if (inside !== native) throw new Error(`results differ: ${inside} vs ${native}`);
  log(`CPU-heavy: sandbox ${sandboxMs.toFixed(1)} ms, node ${nodeMs.toFixed(1)} ms (${(sandboxMs / nodeMs).toFixed(1)}×)`);
  rows.push(
    { bench: "sandbox", metric: "CPU-heavy snippet in a sandbox (sieve 2M + sort/JSON 20k)", value: sandboxMs, unit: "ms" },
    { bench: "sandbox", metric: "same code in plain Node (V8 JIT)", value: nodeMs, unit: "ms", note: `sandbox is ${(sandboxMs / nodeMs).toFixed(1)}× slower: an interpreter, no JIT` },
  );
  s.dispose();
}

const rows: Row[] = [];
for (const { label, engine } of ENGINES) await lifecycle(rows, label, engine);
await live(rows);
for (const { label, engine } of ENGINES) await hostCalls(rows, label, engine);
await cpuHeavy(rows);
await workerPoolEngine().close();
emit(rows);
