/**
 * Chat load generator for bench/durable-objects.ts, run in its own process by {@link runChild}. Opens
 * `sockets` WebSockets (socket i joins room `rooms[i % rooms.length]`), keeps `inflight` messages
 * outstanding on each, and counts replies during `duration` seconds after `warmup` seconds. A room
 * answers each message with one text frame, in order, so the oldest send of a socket is the one a
 * reply answers.
 */
import WebSocket from "ws";
import { childMain, percentile } from "./common.ts";
import { usageOf } from "./do-server.ts";

export interface DoLoadInput {
  /** ws://host:port/rooms/ (room names are appended, URI-encoded). */
  baseUrl: string;
  rooms: string[];
  sockets: number;
  inflight: number;
  /** The text of every message. */
  message: string;
  warmup: number;
  duration: number;
  /** Sockets connecting at once. */
  connectConcurrency: number;
  /** The server's process id: its CPU time over the measured seconds is reported (Linux). */
  serverPid?: number;
}

export interface DoLoadResult {
  /** Replies while measuring. */
  replies: number;
  /** Seconds actually measured. */
  duration: number;
  rate: number;
  latencyP50: number;
  latencyP99: number;
  /** Seconds to open every socket (each first open also creates its room). */
  connectSeconds: number;
  /** Sockets that closed or failed while the load ran. */
  dropped: number;
  /** The server's CPU time (user + system) during the measured seconds, if its pid was given. */
  serverCpuSeconds: number | undefined;
}

interface Client {
  ws: WebSocket;
  /** Send times of the messages not yet answered, oldest first. */
  sent: bigint[];
}

function connect(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

async function run(input: DoLoadInput): Promise<DoLoadResult> {
  const clients: Client[] = [];
  const connectStart = process.hrtime.bigint();
  for (let i = 0; i < input.sockets; i += input.connectConcurrency) {
    const batch: Promise<WebSocket>[] = [];
    for (let j = i; j < Math.min(input.sockets, i + input.connectConcurrency); j++) {
      const room = encodeURIComponent(input.rooms[j % input.rooms.length]!);
      batch.push(connect(`${input.baseUrl}${room}?sender=client-${j}`));
    }
    for (const ws of await Promise.all(batch)) clients.push({ ws, sent: [] });
  }
  const connectSeconds = Number(process.hrtime.bigint() - connectStart) / 1e9;

  let measuring = false;
  let stopped = false;
  let replies = 0;
  let dropped = 0;
  const latencies: number[] = [];

  const send = (client: Client): void => {
    client.sent.push(process.hrtime.bigint());
    client.ws.send(input.message);
  };

  for (const client of clients) {
    client.ws.on("message", () => {
      const sentAt = client.sent.shift();
      if (measuring) {
        replies++;
        if (sentAt !== undefined && (replies & 7) === 0) latencies.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
      }
      if (!stopped) send(client);
    });
    client.ws.on("close", () => {
      if (!stopped) dropped++;
    });
    client.ws.on("error", () => {});
  }
  for (const client of clients) for (let k = 0; k < input.inflight; k++) send(client);

  await new Promise((resolve) => setTimeout(resolve, input.warmup * 1000));
  const cpuBefore = input.serverPid === undefined ? undefined : usageOf(input.serverPid)?.cpuSeconds;
  measuring = true;
  const start = process.hrtime.bigint();
  await new Promise((resolve) => setTimeout(resolve, input.duration * 1000));
  measuring = false;
  stopped = true;
  const duration = Number(process.hrtime.bigint() - start) / 1e9;
  const cpuAfter = input.serverPid === undefined ? undefined : usageOf(input.serverPid)?.cpuSeconds;

  await Promise.all(
    clients.map(
      ({ ws }) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once("close", () => resolve());
          ws.close(1000);
        }),
    ),
  );
  latencies.sort((a, b) => a - b);
  return {
    replies,
    duration,
    rate: replies / duration,
    latencyP50: percentile(latencies, 50),
    latencyP99: percentile(latencies, 99),
    connectSeconds,
    dropped,
    serverCpuSeconds: cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined,
  };
}

childMain(run);
