/**
 * HTTP load where each connection keeps to one agent, as a user's browser keeps a connection to its
 * agent: `connections` keep-alive connections, connection i POSTing to `paths[i % paths.length]` with
 * one request in flight each. Plain `node:net` sockets, each request the same bytes written again, a
 * response found by its head's end and its content-length: a few µs of CPU per request, so that the
 * load generator takes little of the cores it shares with the server. Run in its own process by
 * {@link runChild}. wrk cannot do this (its script does not know which connection a request goes on).
 */
import { connect as connectTcp, type Socket } from "node:net";
import { childMain, percentile } from "./common.ts";
import { measureWindow } from "./measured-window.ts";

export interface HttpLeanInput {
  /** http://host:port */
  origin: string;
  /** The path each connection POSTs to, in turn (`/agents/counter/a1`, …). */
  paths: string[];
  connections: number;
  /** The request body (JSON). */
  body: string;
  warmup: number;
  duration: number;
  /** The server's process id: its CPU time is read over the measured seconds. */
  serverPid?: number;
}

export interface HttpLeanResult {
  requests: number;
  /** Responses whose status was not 2xx, and connections that failed. */
  errors: number;
  duration: number;
  rate: number;
  latencyP50: number;
  latencyP99: number;
  serverCpuSeconds?: number;
  clientCpuSeconds: number;
}

const HEAD_END = Buffer.from("\r\n\r\n");

/** One keep-alive connection that POSTs `request` again as each response completes. */
class Connection {
  readonly #socket: Socket;
  readonly #request: Buffer;
  #pending: Buffer = Buffer.alloc(0);
  #sentAt = 0;
  #stopped = false;
  readonly #closed: Promise<void>;
  onResponse: (ok: boolean, latencyMs: number) => void = () => {};
  onError: (error: Error) => void = () => {};

  constructor(origin: URL, path: string, body: string) {
    const payload = Buffer.from(body);
    this.#request = Buffer.concat([
      Buffer.from(
        `POST ${path} HTTP/1.1\r\nHost: ${origin.host}\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\nConnection: keep-alive\r\n\r\n`,
      ),
      payload,
    ]);
    this.#socket = connectTcp({ host: origin.hostname, port: Number(origin.port) }, () => {
      this.#socket.setNoDelay(true);
      this.#send();
    });
    this.#closed = new Promise((resolve) => this.#socket.once("close", () => resolve()));
    this.#socket.on("data", (chunk: Buffer) => this.#read(chunk));
    this.#socket.on("error", (error) => this.onError(error));
  }

  stop(): Promise<void> {
    this.#stopped = true;
    this.#socket.end();
    const timer = setTimeout(() => this.#socket.destroy(), 2_000);
    return this.#closed.finally(() => clearTimeout(timer));
  }

  #send(): void {
    if (this.#stopped) return;
    this.#sentAt = performance.now();
    this.#socket.write(this.#request);
  }

  #read(chunk: Buffer): void {
    const data = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const end = data.indexOf(HEAD_END);
    if (end < 0) {
      this.#pending = Buffer.from(data);
      return;
    }
    const head = data.toString("latin1", 0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (length === null) {
      this.onError(new Error(`a response without content-length: ${head.split("\r\n")[0]}`));
      this.#socket.destroy();
      return;
    }
    const total = end + 4 + Number(length[1]);
    if (data.length < total) {
      this.#pending = Buffer.from(data);
      return;
    }
    if (data.length > total) {
      this.onError(new Error("more bytes than the one response asked for"));
      this.#socket.destroy();
      return;
    }
    this.#pending = Buffer.alloc(0);
    this.onResponse(head.startsWith("HTTP/1.1 2"), performance.now() - this.#sentAt);
    this.#send();
  }
}

async function run(input: HttpLeanInput): Promise<HttpLeanResult> {
  const origin = new URL(input.origin);
  let measuring = false;
  let requests = 0;
  let errors = 0;
  const latencies: number[] = [];
  const connections = Array.from({ length: input.connections }, (_, i) => {
    const connection = new Connection(origin, input.paths[i % input.paths.length]!, input.body);
    connection.onResponse = (ok, latency) => {
      if (!measuring) return;
      requests++;
      if (!ok) errors++;
      if ((requests & 7) === 0) latencies.push(latency);
    };
    connection.onError = () => {
      errors++;
    };
    return connection;
  });
  const window = await measureWindow(input, (on) => (measuring = on));
  const duration = window.seconds;
  await Promise.all(connections.map((connection) => connection.stop()));
  latencies.sort((a, b) => a - b);
  return {
    requests,
    errors,
    duration,
    rate: requests / duration,
    latencyP50: percentile(latencies, 50),
    latencyP99: percentile(latencies, 99),
    serverCpuSeconds: window.serverCpuSeconds,
    clientCpuSeconds: window.clientCpuSeconds,
  };
}

childMain(run);
