/**
 * Queues: end-to-end throughput and send → handler latency, producer and consumer in one process as
 * in Hearth, durability relaxed (the default). The producer yields a turn of the event loop after
 * each call, as a server does between requests (a loop of awaited calls alone would never let the
 * consumer run). The consumer takes batches of 100 with a 10 ms
 * max_batch_timeout; each message carries the time its send was called, read again in the handler.
 *  - sendBatch of 100 messages at a time, awaited;
 *  - 100 concurrent send() calls per turn (one transaction for the turn);
 *  - one awaited send() after another (a commit each);
 *  - idle latency: one message at a time, the next sent after the previous was handled, with the
 *    10 ms timeout and with max_batch_timeout 0.
 * Every run checks that each message was handled exactly once. Disk and tmpfs. `--n N` (default 100,000).
 */
import { join } from "node:path";
import { QueueConsumers, QueueProducer, openQueueStore, type MessageBatch } from "../dist/queues/index.js";
import { systemClock } from "../dist/time/clock.js";
import { SHM_DIR, emit, flag, log, nextTurn, percentile, shmAvailable, withDataDir, type Row } from "./lib/common.ts";

const N = Number(flag("n") ?? 100_000);
const N_SINGLE = Math.min(N, 20_000);
const N_IDLE = 300;
const BATCH = 100;
const TIMEOUT_S = 0.01;

interface Body {
  i: number;
  t: number;
}

interface Figures {
  perSecond: number;
  p50: number;
  p99: number;
  count: number;
}

type Producer = (queue: QueueProducer<Body>, count: number) => Promise<void>;

const producers: Record<string, Producer> = {
  async sendBatch(queue, count) {
    for (let i = 0; i < count; i += BATCH) {
      await queue.sendBatch(Array.from({ length: Math.min(BATCH, count - i) }, (_, k) => ({ body: { i: i + k, t: performance.now() } })));
      await nextTurn();
    }
  },
  async concurrent(queue, count) {
    for (let i = 0; i < count; i += BATCH) {
      await Promise.all(Array.from({ length: Math.min(BATCH, count - i) }, (_, k) => queue.send({ i: i + k, t: performance.now() })));
      await nextTurn();
    }
  },
  async sequential(queue, count) {
    for (let i = 0; i < count; i++) {
      await queue.send({ i, t: performance.now() });
      await nextTurn();
    }
  },
};

/** Sends `count` messages with `produce` and waits until the consumer handled them all. */
async function run(dir: string, label: string, produce: Producer, count: number, timeoutS = TIMEOUT_S): Promise<Figures> {
  const store = openQueueStore({ path: join(dir, `${label}.sqlite`), clock: systemClock });
  const latencies = new Float64Array(count);
  const seen = new Uint8Array(count);
  let handled = 0;
  let allHandled!: () => void;
  const done = new Promise<void>((resolve) => (allHandled = resolve));
  const consumers = new QueueConsumers({
    store,
    consumers: [{ queue: "bench", maxBatchSize: BATCH, maxBatchTimeout: timeoutS, maxRetries: 3 }],
    deliver: async (batch: MessageBatch) => {
      const now = performance.now();
      for (const message of batch.messages) {
        const body = message.body as Body;
        if (seen[body.i]) throw new Error(`message ${body.i} was delivered twice`);
        seen[body.i] = 1;
        latencies[body.i] = now - body.t;
      }
      handled += batch.messages.length;
      if (handled === count) allHandled();
    },
  });
  consumers.start();
  const queue = new QueueProducer<Body>({ store, queue: "bench" });
  // The clock's timers are unref'd (a server keeps Hearth alive); keep this process up meanwhile.
  const keepAlive = setInterval(() => {}, 1_000);
  try {
    const start = performance.now();
    await produce(queue, count);
    await done;
    const elapsed = performance.now() - start;
    await consumers.idle(); // the last batch is settled after its handler returned
    const backlog = (await queue.metrics()).backlogCount;
    if (backlog !== 0) throw new Error(`${backlog} messages left in the queue`);
    const sorted = [...latencies].sort((a, b) => a - b);
    return { perSecond: (count * 1000) / elapsed, p50: percentile(sorted, 50), p99: percentile(sorted, 99), count };
  } finally {
    clearInterval(keepAlive);
    await consumers.close();
    store.close();
  }
}

/** One message at a time: the next is sent once the previous one was handled and settled. */
const oneAtATime: Producer = async (queue, count) => {
  for (let i = 0; i < count; i++) {
    await queue.send({ i, t: performance.now() });
    while ((await queue.metrics()).backlogCount > 0) await new Promise((resolve) => setImmediate(resolve));
  }
};

async function measure(base: string | undefined, label: string): Promise<Record<string, Figures>> {
  return withDataDir(`queues-${label}`, base, async (dir) => {
    await run(dir, "warm-up", producers.sendBatch!, 10_000); // statements, JIT
    const figures: Record<string, Figures> = {
      sendBatch: await run(dir, "batch", producers.sendBatch!, N),
      concurrent: await run(dir, "concurrent", producers.concurrent!, N),
      sequential: await run(dir, "sequential", producers.sequential!, N_SINGLE),
      idle: await run(dir, "idle", oneAtATime, N_IDLE),
      idleZero: await run(dir, "idle-zero", oneAtATime, N_IDLE, 0),
    };
    for (const [name, f] of Object.entries(figures)) {
      log(`${label} ${name}: ${Math.round(f.perSecond)} msg/s, p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms (${f.count})`);
    }
    return figures;
  });
}

const ms = (value: number) => `${value.toFixed(2)} ms`;

function rows(f: Record<string, Figures>, where: string): Row[] {
  const bench = "queues";
  const goal = { op: ">=" as const, value: 10_000 };
  const setup = `max_batch_size ${BATCH}, max_batch_timeout ${TIMEOUT_S * 1000} ms`;
  const loaded = (name: string, what: string, figures: Figures): Row[] => [
    {
      bench,
      metric: `${what} → queue(batch) handler, end to end, ${where}`,
      value: figures.perSecond,
      unit: "messages/s",
      goal,
      note: `${figures.count.toLocaleString("en-US")} messages; ${setup}; send → handler p50 ${ms(figures.p50)}, p99 ${ms(figures.p99)}`,
    },
    { bench, metric: `send → handler latency p99, ${name}, ${where}`, value: figures.p99, unit: "ms", note: `p50 ${ms(figures.p50)}` },
  ];
  return [
    ...loaded("sendBatch(100)", "sendBatch of 100 messages", f.sendBatch!),
    ...loaded("100 send() per turn", "100 concurrent send() per turn", f.concurrent!),
    ...loaded("one send() at a time", "one awaited send() after another", f.sequential!),
    {
      bench,
      metric: `send → handler latency p50, one message at a time (idle queue), ${where}`,
      value: f.idle!.p50,
      unit: "ms",
      note: `p99 ${ms(f.idle!.p99)}; ${N_IDLE} messages; a lone message waits for max_batch_timeout (${TIMEOUT_S * 1000} ms); with max_batch_timeout 0: p50 ${ms(f.idleZero!.p50)}, p99 ${ms(f.idleZero!.p99)}`,
    },
  ];
}

const out: Row[] = [];
out.push(...rows(await measure(undefined, "disk"), "disk (os.tmpdir)"));
if (shmAvailable()) out.push(...rows(await measure(SHM_DIR, "shm"), "tmpfs (/dev/shm)"));
emit(out);
