/** The agents under test. Callables are listed in `static callables` (no decorators needed). */
import { Agent, type Host } from "../../dist/index.js";
import { HANDLE } from "../../dist/agent/agent-base.js";

export interface CounterState {
  count: number;
}

/**
 * Counter: every POST does one setState and one SQL INSERT (the spec's request shape); GET reads the
 * count. RPC: `increment` (setState), `ping` (touches nothing), `totals` (state vs. rows, a consistency check).
 */
export class Counter extends Agent<unknown, CounterState> {
  static callables = ["increment", "ping", "totals"];
  override initialState: CounterState = { count: 0 };

  override onStart(): void {
    this.sql`CREATE TABLE IF NOT EXISTS hits (n INTEGER NOT NULL, at INTEGER NOT NULL)`;
  }

  override onRequest(request: Request): Response {
    if (request.method === "POST") return Response.json({ count: this.#bump(1) });
    return Response.json({ count: this.state.count });
  }

  increment(by: number): number {
    return this.#bump(by);
  }

  ping(): boolean {
    return true;
  }

  totals(): { count: number; rows: number } {
    const [row] = this.sql<{ rows: number }>`SELECT count(*) AS rows FROM hits`;
    return { count: this.state.count, rows: Number(row?.rows ?? 0) };
  }

  #bump(by: number): number {
    const count = this.state.count + by;
    this.setState({ count });
    this.sql`INSERT INTO hits (n, at) VALUES (${count}, ${Date.now()})`;
    return count;
  }
}

/** Minimal agent for wake and memory figures: a small state and a trivial method, no onStart work. */
export class Sleeper extends Agent<unknown, { label: string; n: number }> {
  static callables = ["setup", "ping", "read"];

  setup(n: number): number {
    this.setState({ label: `sleeper-${n}`, n });
    return n;
  }

  ping(): boolean {
    return true;
  }

  read(): number | undefined {
    return this.state?.n;
  }
}

type StartUp = (props?: Record<string, unknown>) => Promise<void>;

/**
 * Times every start-up of instances of `cls` (the capability layers' checks and onStart, what an
 * agent does when it is created or woken) until `stop()`, which restores the class and returns the ms.
 */
export function timeStartUps(cls: { prototype: object }): { stop(): number[] } {
  const proto = cls.prototype as unknown as Record<symbol, StartUp>;
  const own = Object.prototype.hasOwnProperty.call(proto, HANDLE.start) ? proto[HANDLE.start] : undefined;
  const inherited = proto[HANDLE.start]!;
  const times: number[] = [];
  proto[HANDLE.start] = async function (this: unknown, props?: Record<string, unknown>) {
    const start = performance.now();
    try {
      await inherited.call(this, props);
    } finally {
      times.push(performance.now() - start);
    }
  };
  return {
    stop() {
      if (own) proto[HANDLE.start] = own;
      else delete proto[HANDLE.start];
      return times;
    },
  };
}

/**
 * POSTs `{}` to the Counter of each name (`name(i)` for i below `count`) through `host.request`,
 * `parallel` at a time, reading every answer: the in-process way to create or wake many Counters.
 * @example await postToCounters(host, 2_000, (i) => `new-${i}`, 16);
 */
export async function postToCounters(host: Host, count: number, name: (index: number) => string, parallel: number): Promise<void> {
  for (let next = 0; next < count; ) {
    const batch: Array<Promise<string>> = [];
    for (; batch.length < parallel && next < count; next++) {
      const agent = name(next);
      batch.push(host.request("Counter", agent, new Request(`http://bench/agents/counter/${agent}`, { method: "POST", body: "{}" })).then((response) => response.text()));
    }
    await Promise.all(batch);
  }
}
