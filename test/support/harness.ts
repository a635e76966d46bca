import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host, serve, type AgentClass, type HearthServer, type HostOptions, type WorkerFetch } from "../../src/index.ts";

export interface Harness {
  host: Host;
  server: HearthServer;
  url: string;
  wsUrl: string;
  dataDir: string;
  close(): Promise<void>;
}

/** A real host and HTTP/WebSocket server on loopback, over a fresh temporary data directory. */
export async function startHarness(
  agents: Record<string, AgentClass>,
  options: Partial<HostOptions> & { fetch?: WorkerFetch; dataDir?: string } = {},
): Promise<Harness> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "hearth-test-"));
  const host = new Host({ ...options, dataDir, agents });
  const server = await serve({ host, port: 0, ...(options.fetch ? { fetch: options.fetch } : {}) });
  return {
    host,
    server,
    dataDir,
    url: server.url,
    wsUrl: server.url.replace(/^http/, "ws"),
    async close() {
      await server.close();
      await host.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), "hearth-test-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

type Frame = Record<string, unknown>;

/** A WebSocket test client that records every frame and waits for the ones a test expects. */
export class TestSocket {
  readonly frames: Array<Frame | string> = [];
  readonly socket: WebSocket;
  closed: { code: number; reason: string } | undefined;
  #waiters: Array<() => void> = [];
  #rpc = 0;

  private constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.binaryType = "arraybuffer";
    this.socket.addEventListener("message", (event) => {
      const data = event.data;
      if (typeof data === "string") {
        try {
          this.frames.push(JSON.parse(data) as Frame);
        } catch {
          this.frames.push(data);
        }
      } else {
        this.frames.push(`binary:${Buffer.from(data as ArrayBuffer).toString("hex")}`);
      }
      this.#wake();
    });
    this.socket.addEventListener("close", (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.#wake();
    });
  }

  static async open(url: string): Promise<TestSocket> {
    const client = new TestSocket(url);
    await new Promise<void>((resolve, reject) => {
      client.socket.addEventListener("open", () => resolve(), { once: true });
      client.socket.addEventListener("error", () => reject(new Error(`WebSocket to ${url} failed`)), { once: true });
    });
    return client;
  }

  send(frame: Frame | string): void {
    this.socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Waits for the first recorded frame (from `from` on) that matches, up to 20 s (a loaded machine is slow; the test timeout is 30 s). */
  async waitFor(match: (frame: Frame | string) => boolean, from = 0): Promise<Frame | string> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found !== undefined) return found;
      if (this.closed) throw new Error(`Socket closed (${this.closed.code} ${this.closed.reason}) while waiting; frames: ${JSON.stringify(this.frames)}`);
      if (Date.now() > deadline) throw new Error(`Timed out waiting for a frame; got ${JSON.stringify(this.frames).slice(0, 2000)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async waitForType(type: string, from = 0): Promise<Frame> {
    return (await this.waitFor((f) => typeof f === "object" && f.type === type, from)) as Frame;
  }

  /** Sends an RPC frame and waits for its final reply. */
  async call(method: string, args: unknown[] = []): Promise<Frame> {
    const id = `t${++this.#rpc}`;
    this.send({ type: "rpc", id, method, args });
    return (await this.waitFor((f) => typeof f === "object" && f.type === "rpc" && f.id === id && f.done !== false)) as Frame;
  }

  async waitClosed(): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + 20_000; // generous: a loaded machine is slow, the test timeout is 30 s
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("Timed out waiting for close");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.closed;
  }

  close(): void {
    this.socket.close();
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }
}
