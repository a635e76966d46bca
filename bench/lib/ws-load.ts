/**
 * WebSocket RPC load generator, run in its own process by {@link runChild}. Opens `sockets` sockets
 * (socket i goes to agent `names[i % names.length]`), keeps `inflight` calls outstanding on each, and
 * counts completed round trips during `duration` seconds after `warmup` seconds.
 */
import WebSocket from "ws";
import { childMain, percentile } from "./common.ts";
import { usageOf } from "./do-server.ts";

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

interface Client {
  ws: WebSocket;
  sent: Map<string, bigint>;
  next: number;
}

function connect(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

async function run(input: WsLoadInput): Promise<WsLoadResult> {
  const argsJson = JSON.stringify(input.args);
  const methodJson = JSON.stringify(input.method);
  const clients: Client[] = [];
  const connectStart = process.hrtime.bigint();
  for (let i = 0; i < input.sockets; i += input.connectConcurrency) {
    const batch: Promise<WebSocket>[] = [];
    for (let j = i; j < Math.min(input.sockets, i + input.connectConcurrency); j++) {
      batch.push(connect(`${input.baseUrl}${encodeURIComponent(input.names[j % input.names.length]!)}`));
    }
    for (const ws of await Promise.all(batch)) clients.push({ ws, sent: new Map(), next: 0 });
  }
  const connectSeconds = Number(process.hrtime.bigint() - connectStart) / 1e9;

  let measuring = false;
  let stopped = false;
  let calls = 0;
  let errors = 0;
  let otherFrames = 0;
  const latencies: number[] = [];

  const send = (client: Client) => {
    const id = `c${client.next++}`;
    client.sent.set(id, process.hrtime.bigint());
    client.ws.send(`{"type":"rpc","id":"${id}","method":${methodJson},"args":${argsJson}}`);
  };

  for (const client of clients) {
    client.ws.on("message", (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as { type: string; id?: string; success?: boolean; done?: boolean };
      if (frame.type !== "rpc" || frame.id === undefined) {
        if (measuring) otherFrames++;
        return;
      }
      if (frame.done === false) return;
      const sentAt = client.sent.get(frame.id);
      client.sent.delete(frame.id);
      if (measuring) {
        calls++;
        if (!frame.success) errors++;
        if (sentAt !== undefined && (calls & 7) === 0) latencies.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
      }
      if (!stopped) send(client);
    });
  }
  for (const client of clients) for (let k = 0; k < input.inflight; k++) send(client);

  await new Promise((resolve) => setTimeout(resolve, input.warmup * 1000));
  const cpuBefore = input.serverPid === undefined ? undefined : usageOf(input.serverPid)?.cpuSeconds;
  const clientBefore = process.cpuUsage();
  measuring = true;
  const start = process.hrtime.bigint();
  await new Promise((resolve) => setTimeout(resolve, input.duration * 1000));
  measuring = false;
  const client = process.cpuUsage(clientBefore);
  const cpuAfter = input.serverPid === undefined ? undefined : usageOf(input.serverPid)?.cpuSeconds;
  stopped = true;
  const duration = Number(process.hrtime.bigint() - start) / 1e9;

  await Promise.all(
    clients.map(
      ({ ws }) =>
        new Promise<void>((resolve) => {
          ws.once("close", () => resolve());
          ws.close(1000);
        }),
    ),
  );
  latencies.sort((a, b) => a - b);
  return {
    calls,
    errors,
    duration,
    rate: calls / duration,
    latencyP50: percentile(latencies, 50),
    latencyP99: percentile(latencies, 99),
    connectSeconds,
    otherFrames,
    serverCpuSeconds: cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined,
    clientCpuSeconds: (client.user + client.system) / 1e6,
  };
}

childMain(run);
