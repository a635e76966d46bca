/**
 * Load generator of bench/active-agents.ts, in its own process: N users, each with its own agent and
 * one open WebSocket, each sending an RPC (`increment`: setState + INSERT) every `interval` seconds at
 * its own phase. Grows N step by step; per step, once every user has sent once, measures reply latency
 * over a window, with the server's RSS and CPU read from /proc. Stops after the first step whose p99
 * is over the bound.
 */
import WebSocket from "ws";
import { childMain, percentile } from "./common.ts";
import { usageOf } from "./do-server.ts";

export interface UsersInput {
  url: string;
  serverPid: number;
  steps: number[];
  intervalSeconds: number;
  windowSeconds: number;
  p99BoundMs: number;
}

export interface UsersStep {
  users: number;
  replies: number;
  errors: number;
  p50: number;
  p99: number;
  /** Server RSS at the end of the window, bytes. */
  rss: number;
  /** Server CPU over the window, share of one core. */
  cpu: number;
  /** Seconds it took to connect this step's new users and have each send once. */
  rampSeconds: number;
  /** Why the step could not be reached (its users could not all connect); p99 is then Infinity. */
  failed?: string;
}

interface User {
  socket: WebSocket;
  next: number;
  pending: Map<string, number>;
}

childMain<UsersInput, UsersStep[]>(async (input) => {
  const users: User[] = [];
  let recording: number[] | undefined;
  let errors = 0;
  let seq = 0;
  const send = (user: User): void => {
    const id = `r${seq++}`;
    user.pending.set(id, performance.now());
    user.socket.send(JSON.stringify({ type: "rpc", id, method: "increment", args: [1] }));
  };
  const connect = (index: number): Promise<User> =>
    new Promise((resolve, reject) => {
      const socket = new WebSocket(`${input.url.replace("http", "ws")}/agents/counter/user-${index}`);
      const user: User = { socket, next: 0, pending: new Map() };
      socket.on("message", (data: Buffer) => {
        const frame = JSON.parse(data.toString()) as { type?: string; id?: string; success?: boolean; done?: boolean };
        if (frame.type !== "rpc" || frame.id === undefined || frame.done === false) return;
        const sent = user.pending.get(frame.id);
        if (sent === undefined) return;
        user.pending.delete(frame.id);
        if (frame.success === false) errors++;
        recording?.push(performance.now() - sent);
      });
      socket.once("open", () => resolve(user));
      socket.once("error", reject);
    });

  // One timer drives every user: each sends when its phase comes round.
  const tick = setInterval(() => {
    const now = performance.now();
    for (const user of users) {
      if (user.next <= now && user.socket.readyState === WebSocket.OPEN) {
        user.next += input.intervalSeconds * 1000;
        send(user);
      }
    }
  }, 5);

  const results: UsersStep[] = [];
  try {
    for (const target of input.steps) {
      const rampStart = performance.now();
      try {
        for (let index = users.length; index < target; index += 200) {
          const batch = await Promise.all(Array.from({ length: Math.min(200, target - index) }, (_, i) => connect(index + i)));
          const now = performance.now();
          // Phases spread over the interval from now on.
          for (const user of batch) user.next = now + Math.random() * input.intervalSeconds * 1000;
          users.push(...batch);
        }
      } catch (error) {
        // A server out of descriptors resets the connections it cannot take (libuv's answer to EMFILE).
        const failed = `${users.length} of ${target} users connected, then: ${error instanceof Error ? error.message : String(error)}`;
        const rampSeconds = (performance.now() - rampStart) / 1000;
        results.push({ users: target, replies: 0, errors: 0, p50: Number.POSITIVE_INFINITY, p99: Number.POSITIVE_INFINITY, rss: usageOf(input.serverPid)?.rss ?? 0, cpu: 0, rampSeconds, failed });
        process.stderr.write(`  ${target} users: not reached (${failed})\n`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, input.intervalSeconds * 1000));
      const rampSeconds = (performance.now() - rampStart) / 1000;
      recording = [];
      errors = 0;
      const before = usageOf(input.serverPid);
      const started = performance.now();
      await new Promise((resolve) => setTimeout(resolve, input.windowSeconds * 1000));
      const seconds = (performance.now() - started) / 1000;
      const after = usageOf(input.serverPid);
      const latencies = recording.sort((a, b) => a - b);
      recording = undefined;
      const step: UsersStep = {
        users: target,
        replies: latencies.length,
        errors,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        rss: after?.rss ?? 0,
        cpu: before && after ? (after.cpuSeconds - before.cpuSeconds) / seconds : 0,
        rampSeconds,
      };
      results.push(step);
      process.stderr.write(`  ${target} users: p99 ${step.p99.toFixed(1)} ms, ${step.replies} replies, CPU ${(step.cpu * 100).toFixed(0)}%, RSS ${(step.rss / 2 ** 20).toFixed(0)} MiB\n`);
      if (step.p99 > input.p99BoundMs) break;
    }
  } finally {
    clearInterval(tick);
    for (const user of users) user.socket.terminate();
  }
  return results;
});
