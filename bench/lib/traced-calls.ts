/**
 * The child of bench/tracing-cost.ts: one agent in this process, no sockets; HTTP requests through
 * the gateway's instrumentation around `host.request` (as the gateway calls it) and RPC calls through a stub,
 * 16 in flight, with tracing off or on (every trace kept in memory, 1% in the file, as `hearth dev`
 * keeps them). Returns this process's CPU microseconds per operation for each round.
 */
import { pathToFileURL } from "node:url";
import { childMain, withDataDir } from "./common.ts";
import { counterOn } from "./dist-counter.ts";

export interface TracedCallsInput {
  /** The dist/ directory of the build to measure. */
  dist: string;
  tracing: boolean;
  rounds: number;
  httpPerRound: number;
  rpcPerRound: number;
}

export interface TracedCallsResult {
  httpCpu: number[];
  rpcCpu: number[];
  /**
   * With tracing off: CPU per request (ns) of the hooks an HTTP request passes while nothing is on —
   * `instrumentHttpRequest`, the mailbox's `carryContext`, `instrumentActorEvent`, the state event's
   * `emitAgentEvent` (what the core calls; a build from before agent/instrumentation.ts: the trace
   * hooks it called directly) — less the same loop calling the handlers directly, per round.
   */
  idleHooksNs: number[];
}

type Dist = typeof import("../../dist/index.js");
type Traces = typeof import("../../dist/observability/traces/index.js");
type Hooks = typeof import("../../dist/observability/traces/hooks.js");
type Events = typeof import("../../dist/events/emit.js");
type EventContext = typeof import("../../dist/host/event-context.js");
type Instrumentation = typeof import("../../dist/agent/instrumentation.js");

const IN_FLIGHT = 16;

childMain<TracedCallsInput, TracedCallsResult>(async (input) => {
  const dist = (await import(pathToFileURL(`${input.dist}/index.js`).href)) as Dist;
  const traces = (await import(pathToFileURL(`${input.dist}/observability/traces/index.js`).href)) as Traces;
  const hooks = (await import(pathToFileURL(`${input.dist}/observability/traces/hooks.js`).href)) as Hooks;
  // Builds from before decision 0027 kept the events under observability/.
  const events = (await import(pathToFileURL(`${input.dist}/events/emit.js`).href).catch(() => import(pathToFileURL(`${input.dist}/observability/events/emit.js`).href))) as Events;
  const eventContext = (await import(pathToFileURL(`${input.dist}/host/event-context.js`).href)) as EventContext;
  const instrumentation = (await import(pathToFileURL(`${input.dist}/agent/instrumentation.js`).href).catch(() => undefined)) as Instrumentation | undefined;
  const aroundRequest = instrumentation?.instrumentHttpRequest ?? traces.traceHttpRequest;
  const aroundEvent = instrumentation?.instrumentActorEvent ?? hooks.traceAgentEvent;
  const Counter = counterOn(dist);
  return withDataDir("traced-calls", undefined, async (dataDir) => {
    const host = new dist.Host({ dataDir, agents: { Counter } });
    const tracing = input.tracing ? traces.enableTracing({ otlp: false, aiSdk: false, store: { persist: { path: `${dataDir}/spans.sqlite`, sampleRatio: 0.01 } } }) : undefined;
    const stub = (await dist.getAgentByName(host.env.Counter as never, "hot")) as unknown as { ping(): Promise<boolean> };
    const http = async (): Promise<void> => {
      const request = new Request("http://bench/agents/counter/hot", { method: "POST", body: "{}", headers: { "user-agent": "bench" } });
      await (await aroundRequest(request, () => host.request("Counter", "hot", request))).text();
    };
    const cpuPer = async (count: number, call: () => Promise<unknown>): Promise<number> => {
      const before = process.cpuUsage();
      let next = 0;
      await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
        while (next++ < count) await call();
      }));
      const used = process.cpuUsage(before);
      return (used.user + used.system) / count;
    };
    await cpuPer(input.httpPerRound, http); // warm-up: compiles the code, creates the file
    await cpuPer(input.rpcPerRound, () => stub.ping());
    const result: TracedCallsResult = { httpCpu: [], rpcCpu: [], idleHooksNs: [] };
    const agent = { name: "hot" };
    const request = new Request("http://bench/agents/counter/hot", { method: "POST", body: "{}", headers: { "user-agent": "bench" } });
    const answer = Promise.resolve(new Response("ok"));
    const withHooks = (): Promise<Response> =>
      aroundRequest(request, () => {
        eventContext.carryContext();
        return aroundEvent("Counter", "hot", "onRequest", undefined, () => {
          events.emitAgentEvent(agent, "state:update");
          return answer;
        });
      });
    const without = (): Promise<Response> => answer;
    const loopNs = async (fn: () => Promise<Response>): Promise<number> => {
      const count = 200_000;
      const before = process.cpuUsage();
      for (let i = 0; i < count; i++) await fn();
      const used = process.cpuUsage(before);
      return ((used.user + used.system) * 1000) / count;
    };
    for (let round = 0; round < input.rounds; round++) {
      result.httpCpu.push(await cpuPer(input.httpPerRound, http));
      result.rpcCpu.push(await cpuPer(input.rpcPerRound, () => stub.ping()));
      if (!input.tracing) result.idleHooksNs.push((await loopNs(withHooks)) - (await loopNs(without)));
    }
    await tracing?.close();
    await host.close();
    return result;
  });
});
