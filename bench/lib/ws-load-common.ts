/** What the two WebSocket RPC load generators (lib/ws-load.ts, lib/ws-load-lean.ts) share: input, result, opening sockets. */
import { percentile } from "./common.ts";
import type { MeasuredWindow } from "./measured-window.ts";

export interface WsLoadInput {
  /** ws://host:port/agents/<class>/ (agent names are appended, URI-encoded). */
  baseUrl: string;
  names: string[];
  sockets: number;
  inflight: number;
  method: string;
  args: unknown[];
  warmup: number;
  duration: number;
  /** Sockets connecting at once. */
  connectConcurrency: number;
  /** The server's process id, when it is another process: its CPU time is read over the measured seconds. */
  serverPid?: number;
}

export interface WsLoadResult {
  calls: number;
  errors: number;
  /** Seconds actually measured. */
  duration: number;
  rate: number;
  latencyP50: number;
  latencyP99: number;
  /** Seconds to open every socket (each open also wakes or creates its agent). */
  connectSeconds: number;
  /** Frames that were not RPC replies (state broadcasts, identity…), during the measurement. */
  otherFrames: number;
  /** CPU seconds the server process used over the measured seconds (with `serverPid`, on Linux). */
  serverCpuSeconds?: number;
  /** CPU seconds the load generator itself used over the measured seconds: its share of the machine. */
  clientCpuSeconds?: number;
}

/** The result of a run from its counts, its sampled latencies (ms, sorted here) and its measured window. */
export function wsLoadResult(
  counted: { calls: number; errors: number; latencies: number[]; connectSeconds: number; otherFrames: number },
  window: MeasuredWindow,
): WsLoadResult {
  const { calls, latencies } = counted;
  latencies.sort((a, b) => a - b);
  return {
    calls,
    errors: counted.errors,
    duration: window.seconds,
    rate: calls / window.seconds,
    latencyP50: percentile(latencies, 50),
    latencyP99: percentile(latencies, 99),
    connectSeconds: counted.connectSeconds,
    otherFrames: counted.otherFrames,
    serverCpuSeconds: window.serverCpuSeconds,
    clientCpuSeconds: window.clientCpuSeconds,
  };
}

/** Opens a socket to each of `input.names` (in turn, `input.sockets` of them), `connectConcurrency` at a time. */
export async function openSockets<T>(input: WsLoadInput, open: (url: string) => Promise<T>): Promise<{ sockets: T[]; connectSeconds: number }> {
  const sockets: T[] = [];
  const start = performance.now();
  for (let i = 0; i < input.sockets; i += input.connectConcurrency) {
    const batch: Promise<T>[] = [];
    for (let j = i; j < Math.min(input.sockets, i + input.connectConcurrency); j++) {
      batch.push(open(`${input.baseUrl}${encodeURIComponent(input.names[j % input.names.length]!)}`));
    }
    sockets.push(...(await Promise.all(batch)));
  }
  return { sockets, connectSeconds: (performance.now() - start) / 1000 };
}
