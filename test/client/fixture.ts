import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Agent, Host, serve } from "../../src/index.ts";
import type { StreamingResponse } from "../../src/index.ts";

export interface CounterState {
  count: number;
}

// One gate per server: test files share this module (vitest runs them unisolated), so a gate
// released by an earlier file's server must not stay open for the next one.
let releaseGate: () => void = () => {};
let gate = Promise.resolve();
function closeGate(): void {
  gate = new Promise<void>((resolve) => {
    releaseGate = resolve;
  });
}

/** The agent every client test talks to. Callables are marked without decorators. */
export class Counter extends Agent<unknown, CounterState> {
  static callables = {
    increment: {},
    getCount: {},
    whoami: {},
    fail: {},
    shout: {},
    kick: {},
    waitForGate: {},
    countdown: { streaming: true },
    failStream: { streaming: true },
  };

  override initialState: CounterState = { count: 0 };

  increment(by = 1): number {
    this.setState({ count: this.state.count + by });
    return this.state.count;
  }

  getCount(): number {
    return this.state.count;
  }

  whoami(): string {
    return this.name;
  }

  fail(): never {
    throw new Error("boom");
  }

  /** Not listed in `callables`: clients must not reach it. */
  secret(): string {
    return "hidden";
  }

  shout(text: string): void {
    this.broadcast(JSON.stringify({ type: "shout", text }));
  }

  kick(): void {
    for (const connection of this.getConnections()) connection.close(4000, "kicked");
  }

  async waitForGate(): Promise<string> {
    await gate;
    return "released";
  }

  countdown(stream: StreamingResponse, from: number): void {
    for (let i = from; i > 0; i--) stream.send(i);
    stream.end("liftoff");
  }

  failStream(stream: StreamingResponse): void {
    stream.send("first");
    stream.error("stream broke");
  }

  override onRequest(request: Request): Response {
    return Response.json({ name: this.name, path: new URL(request.url).pathname });
  }
}

/** A second class, to check the multi-word URL form "chat-room". */
export class ChatRoom extends Agent<unknown, { topic: string }> {
  static callables = ["whoami"];
  override initialState = { topic: "none" };

  whoami(): string {
    return this.name;
  }
}

export interface RunningServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>` */
  host: string;
  close(): Promise<void>;
}

/**
 * Starts a real Hearth server on a loopback port with its data in a temporary folder. With
 * HEARTH_TEST_CLUSTER=1 (the cluster's run of these tests), three cluster nodes behind a round-robin
 * balancer on a real Postgres instead.
 */
export async function startServer(): Promise<RunningServer> {
  if (process.env.HEARTH_TEST_CLUSTER === "1") {
    closeGate();
    const release = releaseGate;
    const { startInProcessCluster } = await import("../cluster/support/in-process-cluster.ts");
    const cluster = await startInProcessCluster({ agents: { Counter, ChatRoom } }, 3);
    return {
      url: cluster.url,
      host: new URL(cluster.url).host,
      async close() {
        release();
        await cluster.close();
      },
    };
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hearth-client-"));
  closeGate();
  const release = releaseGate;
  const host = new Host({ dataDir, agents: { Counter, ChatRoom } });
  const server = await serve({ host, port: 0 });
  return {
    url: server.url,
    host: new URL(server.url).host,
    async close() {
      release();
      await server.close();
      await host.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
