/**
 * The Rate Limiting binding in-process: `limit({ key })` calls per second (goal ≥ 200,000/s).
 *  - one caller over 1,000 keys, every call allowed (limit high enough);
 *  - one caller on one hot key past its limit (refused calls: counted nowhere);
 *  - 100 concurrent callers over 10,000 keys.
 * Counts are kept in memory and written to the store's SQLite file every 10 ms (a turn is yielded every
 * 1,024 calls so those writes happen during the measurement, as they would in a server). Each figure is
 * the median of 5 rounds; every round checks the counts are exact. `--n N` calls per round.
 */
import { join } from "node:path";
import { openRateLimitStore, RateLimiter } from "../dist/ratelimit/index.js";
import { emit, flag, log, nextTurn, withDataDir, type Row } from "./lib/common.ts";

const N = Number(flag("n") ?? 500_000);
const ROUNDS = 5;
const CALLERS = 100;

const keys = (count: number) => Array.from({ length: count }, (_, i) => `user:${i}`);

async function rate(total: number, callers: number, op: (i: number) => Promise<{ success: boolean }>): Promise<{ perSecond: number; allowed: number }> {
  const per = Math.ceil(total / callers);
  let allowed = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      for (let i = c * per; i < Math.min(total, (c + 1) * per); i++) {
        if ((await op(i)).success) allowed++;
        if ((i & 1023) === 0) await nextTurn();
      }
    }),
  );
  return { perSecond: (total * 1000) / (performance.now() - start), allowed };
}

function expectAllowed(what: string, allowed: number, expected: number): void {
  if (allowed !== expected) throw new Error(`${what}: ${allowed} calls allowed, expected exactly ${expected}`);
}

const figures = { spread: [] as number[], hot: [] as number[], concurrent: [] as number[] };
await withDataDir("ratelimit", undefined, async (dir) => {
  const store = openRateLimitStore(join(dir, "ratelimit.sqlite"));
  try {
    const few = keys(1_000);
    const many = keys(10_000);
    for (let round = 0; round < ROUNDS + 1; round++) {
      // A namespace id per round and case: every round starts from zero counts, whatever the window.
      const spread = new RateLimiter(store, { namespaceId: `${round}01`, limit: 1_000_000, period: 60 });
      const hot = new RateLimiter(store, { namespaceId: `${round}02`, limit: 1_000, period: 60 });
      const wide = new RateLimiter(store, { namespaceId: `${round}03`, limit: 1_000_000, period: 10 });
      const a = await rate(N, 1, (i) => spread.limit({ key: few[i % few.length]! }));
      expectAllowed("spread", a.allowed, N);
      const b = await rate(N, 1, () => hot.limit({ key: "hot" }));
      expectAllowed("hot key", b.allowed, 1_000);
      const c = await rate(N, CALLERS, (i) => wide.limit({ key: many[i % many.length]! }));
      if (round === 0) continue; // warm-up
      figures.spread.push(a.perSecond);
      figures.hot.push(b.perSecond);
      figures.concurrent.push(c.perSecond);
    }
  } finally {
    store.close();
  }
});

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const range = (values: number[]) =>
  `${Math.round(Math.min(...values)).toLocaleString("en-US")}–${Math.round(Math.max(...values)).toLocaleString("en-US")}`;
const note = (values: number[], what: string) =>
  `${what}; ${N.toLocaleString("en-US")} calls, median of ${ROUNDS} (${range(values)}); ${(1e6 / median(values)).toFixed(2)} µs each`;
const goal = { op: ">=" as const, value: 200_000 };
log(`limit(): ${Math.round(median(figures.spread))}/s spread, ${Math.round(median(figures.hot))}/s hot key, ${Math.round(median(figures.concurrent))}/s 100 callers`);
const rows: Row[] = [
  { bench: "ratelimit", metric: "limit({ key }) from one caller, 1,000 keys, all allowed", value: median(figures.spread), unit: "calls/s", goal, note: note(figures.spread, "disk (os.tmpdir)") },
  { bench: "ratelimit", metric: "limit({ key }) on one key past its limit (1,000 allowed, the rest refused)", value: median(figures.hot), unit: "calls/s", goal, note: note(figures.hot, "refused calls are not counted") },
  { bench: "ratelimit", metric: `limit({ key }) from ${CALLERS} concurrent callers, 10,000 keys`, value: median(figures.concurrent), unit: "calls/s", goal, note: note(figures.concurrent, "period 10 s") },
];
emit(rows);
