/**
 * The child of bench/tracing-hooks.ts: tracing's own work per request without the host — the HTTP
 * hook around a mailbox delivery of an agent event whose handler only resolves, and an RPC event
 * alone — 16 in flight, every trace kept (1 % in the file, as `hearth dev` keeps them). Returns this
 * process's CPU microseconds per operation for each round.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { childMain } from "./common.ts";

export interface TracedHooksInput {
  /** The dist/ directory of the build to measure. */
  dist: string;
  tracing: boolean;
  rounds: number;
  perRound: number;
}

export interface TracedHooksResult {
  httpCpu: number[];
  rpcCpu: number[];
}

type Traces = typeof import("../../dist/observability/traces/index.js");
type Mailboxes = typeof import("../../dist/host/mailbox.js");

childMain<TracedHooksInput, TracedHooksResult>(async (input) => {
  const traces = (await import(pathToFileURL(`${input.dist}/observability/traces/index.js`).href)) as Traces;
  const { Mailbox } = (await import(pathToFileURL(`${input.dist}/host/mailbox.js`).href)) as Mailboxes;
  const dir = mkdtempSync(join(tmpdir(), "hearth-bench-traced-hooks-"));
  const tracing = input.tracing ? traces.enableTracing({ otlp: false, aiSdk: false, store: { persist: { path: join(dir, "spans.sqlite"), sampleRatio: 0.01 } } }) : undefined;
  const mailbox = new Mailbox({ settle: () => undefined, yielded: () => {}, idle: () => {} });
  const request = new Request("http://bench/agents/counter/hot", { method: "POST", body: "{}", headers: { "user-agent": "bench" } });
  const response = new Response("ok");
  const http = () => traces.traceHttpRequest(request, () => mailbox.deliver(() => traces.traceAgentEvent("Counter", "hot", "onRequest", undefined, async () => response)));
  const rpc = () => mailbox.deliver(() => traces.traceAgentEvent("Counter", "hot", "rpc", "ping", async () => true));
  const cpuPer = async (count: number, call: () => Promise<unknown>): Promise<number> => {
    const before = process.cpuUsage();
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next++ < count) await call();
    }));
    const used = process.cpuUsage(before);
    return (used.user + used.system) / count;
  };
  await cpuPer(input.perRound, http); // warm-up
  await cpuPer(input.perRound, rpc);
  const result: TracedHooksResult = { httpCpu: [], rpcCpu: [] };
  for (let round = 0; round < input.rounds; round++) {
    result.httpCpu.push(await cpuPer(input.perRound, http));
    result.rpcCpu.push(await cpuPer(input.perRound, rpc));
  }
  await tracing?.close();
  rmSync(dir, { recursive: true, force: true });
  return result;
});
