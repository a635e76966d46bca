/**
 * The WebSocket RPC load of ws-load.ts with a client that costs the machine far less per call: plain
 * `node:net` sockets, the upgrade written by hand, each call one masked text frame built from a
 * template, the replies found by their first bytes (only RPC replies are parsed as JSON; state
 * broadcasts are counted and skipped), and every frame a turn of the event loop produces for one
 * socket sent in one write. Same input and result as ws-load.ts, plus the client's own CPU time.
 *
 * Why: on a two-core machine the load generator shares the cores with the server, and the `ws` client
 * (a JSON parse of every frame, an event per frame, a write per call) takes a large share of them —
 * what wrk is to autocannon for HTTP. Frames are masked with a fixed key: the server unmasks whatever
 * key it is given, and a benchmark has no proxy between it and the server to protect.
 */
import { randomBytes } from "node:crypto";
import { connect as connectTcp, type Socket } from "node:net";
import { childMain } from "./common.ts";
import { measureWindow } from "./measured-window.ts";
import { openSockets, wsLoadResult, type WsLoadInput, type WsLoadResult } from "./ws-load-common.ts";

const MASK = [0x5a, 0x17, 0xc3, 0x8e] as const;
const RPC_REPLY = Buffer.from('{"type":"rpc"');
const OPCODE_TEXT = 0x1;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;

/** A client text frame (FIN, masked with {@link MASK}). */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + 4 + length);
  frame[0] = 0x80 | OPCODE_TEXT;
  if (length < 126) frame[1] = 0x80 | length;
  else if (length < 65_536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  const at = headerLength;
  for (let k = 0; k < 4; k++) frame[at + k] = MASK[k]!;
  for (let i = 0; i < length; i++) frame[at + 4 + i] = payload[i]! ^ MASK[i & 3]!;
  return frame;
}

/** A control frame from the client (a pong, a close), masked. */
function controlFrame(opcode: number, payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(6 + payload.length);
  frame[0] = 0x80 | opcode;
  frame[1] = 0x80 | payload.length;
  for (let k = 0; k < 4; k++) frame[2 + k] = MASK[k]!;
  for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i]! ^ MASK[i & 3]!;
  return frame;
}

/** One client: a TCP socket upgraded by hand, server frames parsed from its byte stream. */
class LeanClient {
  readonly #socket: Socket;
  #pending: Buffer = Buffer.alloc(0);
  #outbox: Buffer[] = [];
  #flushQueued = false;
  #closed: Promise<void>;
  onText: (payload: Buffer) => void = () => {};

  private constructor(socket: Socket, rest: Buffer) {
    this.#socket = socket;
    this.#closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("data", (chunk: Buffer) => this.#read(chunk));
    if (rest.length > 0) queueMicrotask(() => this.#read(rest));
  }

  /** Opens `url` (ws://host:port/path) and completes the upgrade. */
  static open(url: string): Promise<LeanClient> {
    const { hostname, port, pathname, search } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connectTcp({ host: hostname, port: Number(port) }, () => {
        socket.setNoDelay(true);
        socket.write(
          `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        socket.off("data", onData);
        socket.off("error", reject);
        const status = head.subarray(0, head.indexOf("\r\n")).toString();
        if (!/^HTTP\/1\.1 101 /.test(status)) {
          socket.destroy();
          reject(new Error(`upgrade of ${url} refused: ${status}`));
          return;
        }
        resolve(new LeanClient(socket, head.subarray(end + 4)));
      };
      socket.on("data", onData);
      socket.once("error", reject);
    });
  }

  /** Queues a frame; what a turn queues for this socket leaves in one write. */
  send(frame: Buffer): void {
    this.#outbox.push(frame);
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(this.#flush);
  }

  readonly #flush = (): void => {
    this.#flushQueued = false;
    const frames = this.#outbox;
    this.#outbox = [];
    if (frames.length === 1) this.#socket.write(frames[0]!);
    else if (frames.length > 1) this.#socket.write(Buffer.concat(frames));
  };

  /** Sends a close frame (1000) and waits for the server to close the connection. */
  close(): Promise<void> {
    const code = Buffer.alloc(2);
    code.writeUInt16BE(1000);
    this.#flush();
    this.#socket.write(controlFrame(OPCODE_CLOSE, code));
    const timer = setTimeout(() => this.#socket.destroy(), 2_000);
    return this.#closed.finally(() => clearTimeout(timer));
  }

  #read(chunk: Buffer): void {
    let data = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    let at = 0;
    while (data.length - at >= 2) {
      const first = data[at]!;
      let length = data[at + 1]! & 0x7f;
      let header = 2;
      if (length === 126) {
        if (data.length - at < 4) break;
        length = data.readUInt16BE(at + 2);
        header = 4;
      } else if (length === 127) {
        if (data.length - at < 10) break;
        length = Number(data.readBigUInt64BE(at + 2));
        header = 10;
      }
      if (data.length - at < header + length) break;
      const payload = data.subarray(at + header, at + header + length);
      at += header + length;
      const opcode = first & 0x0f;
      if (opcode === OPCODE_TEXT) {
        if ((first & 0x80) === 0) throw new Error("fragmented server frame: this client does not join fragments");
        this.onText(payload);
      } else if (opcode === OPCODE_PING) this.send(controlFrame(0xa, payload));
      else if (opcode === OPCODE_CLOSE) this.#socket.end();
    }
    // Copied: the rest must not pin the whole chunk, nor change when Node reuses it.
    data = data.subarray(at);
    this.#pending = data.length === 0 ? Buffer.alloc(0) : Buffer.from(data);
  }
}

async function run(input: WsLoadInput): Promise<WsLoadResult> {
  const argsJson = JSON.stringify(input.args);
  const methodJson = JSON.stringify(input.method);
  const { sockets: clients, connectSeconds } = await openSockets(input, (url) => LeanClient.open(url));

  let measuring = false;
  let stopped = false;
  let calls = 0;
  let errors = 0;
  let otherFrames = 0;
  let sequence = 0;
  const latencies: number[] = [];
  /** Sent at, for the calls whose latency is sampled (one in eight). */
  const timed = new Map<string, number>();

  const send = (client: LeanClient) => {
    const n = sequence++;
    const id = `c${n}`;
    if ((n & 7) === 0) timed.set(id, performance.now());
    client.send(textFrame(`{"type":"rpc","id":"${id}","method":${methodJson},"args":${argsJson}}`));
  };

  for (const client of clients) {
    client.onText = (payload) => {
      if (payload.length < RPC_REPLY.length || payload.compare(RPC_REPLY, 0, RPC_REPLY.length, 0, RPC_REPLY.length) !== 0) {
        if (measuring) otherFrames++;
        return;
      }
      const frame = JSON.parse(payload.toString()) as { id?: string; success?: boolean; done?: boolean };
      if (frame.id === undefined || frame.done === false) return;
      const sentAt = timed.get(frame.id);
      if (sentAt !== undefined) timed.delete(frame.id);
      if (measuring) {
        calls++;
        if (!frame.success) errors++;
        if (sentAt !== undefined) latencies.push(performance.now() - sentAt);
      }
      if (!stopped) send(client);
    };
  }
  for (const client of clients) for (let k = 0; k < input.inflight; k++) send(client);

  const window = await measureWindow(input, (on) => (measuring = on));
  stopped = true;
  await Promise.all(clients.map((c) => c.close()));
  return wsLoadResult({ calls, errors, latencies, connectSeconds, otherFrames }, window);
}

childMain(run);
