/**
 * Benchmark: the D1 binding in-process (no HTTP), durability relaxed (the default).
 *  - `first()` on an indexed lookup, written as Workers code writes it: every call does
 *    `db.prepare(sql).bind(email).first()` against a 10,000-row table with a UNIQUE index;
 *  - `batch()` of 100 INSERTs (one transaction each): batches per second, and rows per second.
 * Each loop checks what it read or wrote. Disk and tmpfs. `--n N` lookups per round.
 */
import { join } from "node:path";
import { D1Database } from "../dist/d1/index.js";
import { SHM_DIR, emit, flag, log, shmAvailable, withDataDir, type Row } from "./lib/common.ts";

const N = Number(flag("n") ?? 100_000);
const ROUNDS = 5;
const USERS = 10_000;
const BATCH_SIZE = 100;
const BATCHES = Math.max(20, Math.round(N / 200));

interface Figures {
  firstPerSecond: number[];
  batchesPerSecond: number[];
}

async function seed(db: D1Database): Promise<void> {
  await db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL, age INTEGER)");
  await db.exec("CREATE TABLE events (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, kind TEXT NOT NULL, at INTEGER NOT NULL)");
  const insert = db.prepare("INSERT INTO users (email, name, age) VALUES (?, ?, ?)");
  for (let start = 0; start < USERS; start += BATCH_SIZE) {
    await db.batch(Array.from({ length: BATCH_SIZE }, (_, i) => insert.bind(`user${start + i}@example.com`, `User ${start + i}`, (start + i) % 90)));
  }
}

async function firstRound(db: D1Database): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < N; i++) {
    const id = i % USERS;
    const row = await db.prepare("SELECT id, name, age FROM users WHERE email = ?").bind(`user${id}@example.com`).first<{ id: number }>();
    if (row?.id !== id + 1) throw new Error(`lookup ${id} returned ${JSON.stringify(row)}`);
  }
  return (N * 1000) / (performance.now() - start);
}

async function batchRound(db: D1Database, round: number): Promise<number> {
  const insert = db.prepare("INSERT INTO events (user_id, kind, at) VALUES (?, ?, ?)");
  const before = (await db.prepare("SELECT count(*) AS n FROM events").first<number>("n"))!;
  const start = performance.now();
  for (let b = 0; b < BATCHES; b++) {
    const statements = Array.from({ length: BATCH_SIZE }, (_, i) => insert.bind((b * BATCH_SIZE + i) % USERS + 1, "click", round * 1e6 + b));
    const results = await db.batch(statements);
    if (results.length !== BATCH_SIZE) throw new Error(`batch returned ${results.length} results`);
  }
  const perSecond = (BATCHES * 1000) / (performance.now() - start);
  const after = (await db.prepare("SELECT count(*) AS n FROM events").first<number>("n"))!;
  if (after - before !== BATCHES * BATCH_SIZE) throw new Error(`stored ${after - before} events, expected ${BATCHES * BATCH_SIZE}`);
  return perSecond;
}

async function measure(base: string | undefined, label: string): Promise<Figures> {
  return withDataDir(`d1-${label}`, base, async (dir) => {
    const db = new D1Database({ path: join(dir, "bench.sqlite") });
    try {
      await seed(db);
      await firstRound(db); // warm-up: statement and plan caches, JIT
      await batchRound(db, -1);
      const figures: Figures = { firstPerSecond: [], batchesPerSecond: [] };
      for (let round = 0; round < ROUNDS; round++) {
        figures.firstPerSecond.push(await firstRound(db));
        figures.batchesPerSecond.push(await batchRound(db, round));
      }
      return figures;
    } finally {
      db.close();
    }
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const range = (values: number[]) =>
  `${Math.round(Math.min(...values)).toLocaleString("en-US")}–${Math.round(Math.max(...values)).toLocaleString("en-US")}`;

function rows(f: Figures, where: string): Row[] {
  const bench = "d1";
  const first = median(f.firstPerSecond);
  const batches = median(f.batchesPerSecond);
  log(`${where}: first ${Math.round(first)}/s, batch of ${BATCH_SIZE} inserts ${Math.round(batches)}/s`);
  return [
    {
      bench,
      metric: `prepare(…).bind(email).first() on a UNIQUE index, ${where}`,
      value: first,
      unit: "first/s",
      goal: { op: ">=", value: 30_000 },
      note: `${N.toLocaleString("en-US")} awaited calls per round over ${USERS.toLocaleString("en-US")} rows, median of ${ROUNDS} (${range(f.firstPerSecond)}); ${(1e6 / first).toFixed(1)} µs each`,
    },
    {
      bench,
      metric: `batch() of ${BATCH_SIZE} INSERTs (one transaction each), ${where}`,
      value: batches,
      unit: "batches/s",
      note: `${BATCHES} batches per round, median of ${ROUNDS} (${range(f.batchesPerSecond)}); ${Math.round(batches * BATCH_SIZE).toLocaleString("en-US")} rows/s`,
    },
  ];
}

const out: Row[] = [];
out.push(...rows(await measure(undefined, "disk"), "disk (os.tmpdir)"));
if (shmAvailable()) out.push(...rows(await measure(SHM_DIR, "shm"), "tmpfs (/dev/shm)"));
emit(out);
