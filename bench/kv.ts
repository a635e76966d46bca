/**
 * Workers KV in-process: get and put per second on one namespace file, from one caller and from 100
 * concurrent callers (goal: get ≥ 100,000/s). Also a bulk get of 100 keys, and list pages.
 *  - 10,000 keys of ~100-byte string values; reads pick keys with a fixed pseudo-random sequence.
 *  - "one caller": `await kv.get(key)` one after another; "100 callers": 100 async loops at once
 *    (agents of one process share the namespace object, so this is what 100 agents do).
 *  - puts resolve when committed (writes of one event-loop turn share one commit), relaxed durability.
 * Each figure is the median of 5 rounds. Disk (os.tmpdir) and tmpfs (/dev/shm). `--n N` gets per round.
 */
import { join } from "node:path";
import { openKvNamespace, type KvNamespace } from "../dist/kv/index.js";
import { SHM_DIR, emit, flag, log, mulberry32, nextTurn, shmAvailable, withDataDir, type Row } from "./lib/common.ts";

const N_GET = Number(flag("n") ?? 200_000);
const N_PUT = Math.max(1_000, Math.floor(N_GET / 10));
const KEYS = 10_000;
const CALLERS = 100;
const ROUNDS = 5;
const VALUE = "x".repeat(90);

const keyName = (i: number) => `user:${String(i).padStart(6, "0")}`;

/** Key indexes in a fixed pseudo-random order, so every run reads the same keys. */
const order = (() => {
  const random = mulberry32(13);
  return Int32Array.from({ length: N_GET }, () => Math.floor(random() * KEYS));
})();

/** Runs `total` operations split over `callers` concurrent loops; operations per second. */
async function rate(total: number, callers: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const per = Math.ceil(total / callers);
  const start = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      for (let i = c * per; i < Math.min(total, (c + 1) * per); i++) {
        await op(i);
        // A turn now and then, as a server gets between requests (timers, I/O, commits run).
        if ((i & 1023) === 0) await nextTurn();
      }
    }),
  );
  return (total * 1000) / (performance.now() - start);
}

interface Figures {
  get1: number[];
  get100: number[];
  getJson100: number[];
  put1: number[];
  put100: number[];
  bulk: number[];
  list: number[];
}

async function check(kv: KvNamespace): Promise<void> {
  const value = await kv.get(keyName(KEYS - 1));
  if (value !== `${VALUE}${KEYS - 1}`) throw new Error(`unexpected value ${JSON.stringify(value)}`);
}

async function measure(base: string | undefined, label: string): Promise<Figures> {
  return withDataDir(`kv-${label}`, base, async (dir) => {
    const kv = openKvNamespace(join(dir, "kv", "BENCH.sqlite"));
    try {
      for (let i = 0; i < KEYS; i += 500) {
        await Promise.all(Array.from({ length: 500 }, (_, j) => kv.put(keyName(i + j), `${VALUE}${i + j}`)));
      }
      await kv.put("json", JSON.stringify({ name: "Ada", roles: ["admin", "dev"], n: 42 }));
      await check(kv);
      await rate(20_000, 1, (i) => kv.get(keyName(order[i]!))); // warm-up: statement cache, JIT
      const f: Figures = { get1: [], get100: [], getJson100: [], put1: [], put100: [], bulk: [], list: [] };
      const bulkKeys = Array.from({ length: 100 }, (_, i) => keyName(i * 97));
      for (let round = 0; round < ROUNDS; round++) {
        f.get1.push(await rate(N_GET, 1, (i) => kv.get(keyName(order[i]!))));
        f.get100.push(await rate(N_GET, CALLERS, (i) => kv.get(keyName(order[i]!))));
        f.getJson100.push(await rate(N_GET / 4, CALLERS, () => kv.get("json", "json")));
        f.put1.push(await rate(N_PUT / 4, 1, (i) => kv.put(keyName(order[i]!), `${VALUE}${order[i]!}`)));
        f.put100.push(await rate(N_PUT, CALLERS, (i) => kv.put(keyName(order[i]!), `${VALUE}${order[i]!}`)));
        f.bulk.push(await rate(2_000, CALLERS, () => kv.get(bulkKeys)));
        f.list.push(await rate(500, 1, (i) => kv.list({ prefix: `user:00${i % 10}`, limit: 1000 })));
        await check(kv);
      }
      return f;
    } finally {
      kv.close();
    }
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const range = (values: number[]) =>
  `${Math.round(Math.min(...values)).toLocaleString("en-US")}–${Math.round(Math.max(...values)).toLocaleString("en-US")}`;
const us = (perSecond: number) => `${(1e6 / perSecond).toFixed(2)} µs each`;

function rows(f: Figures, where: string): Row[] {
  const bench = "kv";
  const note = (values: number[], what: string) => `${what}; median of ${ROUNDS} (${range(values)}); ${us(median(values))}`;
  log(`${where}: get ${Math.round(median(f.get1))}/s (1 caller), ${Math.round(median(f.get100))}/s (100); put ${Math.round(median(f.put1))}/s (1), ${Math.round(median(f.put100))}/s (100)`);
  const goal = { op: ">=" as const, value: 100_000 };
  return [
    { bench, metric: `get(key) from one caller, ${where}`, value: median(f.get1), unit: "gets/s", goal, note: note(f.get1, `${N_GET.toLocaleString("en-US")} gets of ~100-byte text over ${KEYS.toLocaleString("en-US")} keys`) },
    { bench, metric: `get(key) from ${CALLERS} concurrent callers, ${where}`, value: median(f.get100), unit: "gets/s", goal, note: note(f.get100, `${N_GET.toLocaleString("en-US")} gets`) },
    { bench, metric: `get(key, "json") from ${CALLERS} callers, ${where}`, value: median(f.getJson100), unit: "gets/s", note: note(f.getJson100, "a 50-byte JSON object") },
    { bench, metric: `put(key, value) from one caller, ${where}`, value: median(f.put1), unit: "puts/s", note: note(f.put1, "each awaited: one commit per put") },
    { bench, metric: `put(key, value) from ${CALLERS} concurrent callers, ${where}`, value: median(f.put100), unit: "puts/s", note: note(f.put100, "writes of a turn share one commit") },
    { bench, metric: `bulk get of 100 keys from ${CALLERS} callers, ${where}`, value: median(f.bulk), unit: "calls/s", note: note(f.bulk, "get(keys[100]) → Map") },
    { bench, metric: `list({ prefix, limit: 1000 }) of 1,000 keys, ${where}`, value: median(f.list), unit: "pages/s", note: note(f.list, "one caller") },
  ];
}

const out: Row[] = [];
out.push(...rows(await measure(undefined, "disk"), "disk (os.tmpdir)"));
if (shmAvailable()) out.push(...rows(await measure(SHM_DIR, "shm"), "tmpfs (/dev/shm)"));
emit(out);
