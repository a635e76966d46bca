// One of several threads that meet at a barrier, then all take over the same crashed writer's lock at
// once, round after round; each counts how many threads are inside a lock at the same time.
import { parentPort, workerData } from "node:worker_threads";
import { withFileLock } from "../../src/secrets/lock.ts";

/** What the test gives every taker. */
export interface TakerData {
  /** One secrets file per round; each has a stale lock when the round starts. */
  paths: string[];
  /** Int32 cells: [0] threads inside a lock now, [1] the most seen at once, [2 + round] threads arrived at that round. */
  shared: SharedArrayBuffer;
  takers: number;
}

const BARRIER_WAIT_MS = 10_000;
/** How long a taker stays inside the lock, so that a second one inside would be seen. */
const INSIDE_MS = 5;

const { paths, shared, takers } = workerData as TakerData;
const cells = new Int32Array(shared);
const pause = new Int32Array(new SharedArrayBuffer(4));

function meet(cell: number): void {
  if (Atomics.add(cells, cell, 1) + 1 === takers) {
    Atomics.notify(cells, cell);
    return;
  }
  const deadline = Date.now() + BARRIER_WAIT_MS;
  for (let arrived = Atomics.load(cells, cell); arrived < takers; arrived = Atomics.load(cells, cell)) {
    if (Date.now() > deadline) throw new Error(`only ${arrived} of ${takers} takers reached the barrier`);
    Atomics.wait(cells, cell, arrived, 100);
  }
}

function recordInside(inside: number): void {
  let most = Atomics.load(cells, 1);
  while (inside > most) {
    const previous = Atomics.compareExchange(cells, 1, most, inside);
    if (previous === most) return;
    most = previous;
  }
}

for (const [round, path] of paths.entries()) {
  meet(2 + round);
  withFileLock(path, () => {
    recordInside(Atomics.add(cells, 0, 1) + 1);
    Atomics.wait(pause, 0, 0, INSIDE_MS);
    Atomics.sub(cells, 0, 1);
  });
}
parentPort?.postMessage("done");
