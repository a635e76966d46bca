/**
 * Tracing's own cost per request, without the host's work: the HTTP hook around an agent event that
 * only resolves, and an RPC event, with every trace kept (bench/lib/traced-hooks.ts). Without the
 * ~12 µs a real request spends in the host, the VM's ±30 % phases move this figure by a fraction of
 * a microsecond rather than several, so two builds' tracing can be told apart where
 * `tracing-cost` cannot. `--dist a,b` names the builds' dist/ directories (default this checkout's);
 * children alternate between them `--pairs` times; a build's figure is the minimum (and median) of
 * its children's minimums.
 */
import { emit, flag, log, runChild, type Row } from "./lib/common.ts";
import type { TracedHooksInput, TracedHooksResult } from "./lib/traced-hooks.ts";

const DISTS = (flag("dist") ?? new URL("../dist", import.meta.url).pathname).split(",");
const PAIRS = Number(flag("pairs") ?? 5);
const ROUNDS = Number(flag("rounds") ?? 5);
const PER_ROUND = Number(flag("per-round") ?? 40_000);

const mins: Record<string, { http: number[]; rpc: number[] }> = {};
for (let pair = 0; pair < PAIRS; pair++) {
  for (const dist of pair % 2 === 0 ? DISTS : [...DISTS].reverse()) {
    const input: TracedHooksInput = { dist, tracing: true, rounds: ROUNDS, perRound: PER_ROUND };
    const result = await runChild<TracedHooksResult>("traced-hooks.ts", input, 300_000);
    const own = (mins[dist] ??= { http: [], rpc: [] });
    own.http.push(Math.min(...result.httpCpu));
    own.rpc.push(Math.min(...result.rpcCpu));
    log(`${dist}: HTTP hooks min ${Math.min(...result.httpCpu).toFixed(2)} µs, RPC event min ${Math.min(...result.rpcCpu).toFixed(2)} µs`);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const rows: Row[] = [];
for (const dist of DISTS) {
  const { http, rpc } = mins[dist]!;
  const note = `${PAIRS} runs alternating × ${ROUNDS} rounds of ${PER_ROUND}; ${dist}`;
  rows.push({ bench: "16 tracing hooks", metric: "HTTP request span + agent event span, traces kept: CPU per request (min / median of runs)", value: Number(Math.min(...http).toFixed(2)), unit: "µs", note: `median ${median(http).toFixed(2)} µs; ${note}` });
  rows.push({ bench: "16 tracing hooks", metric: "RPC event span, traces kept: CPU per call (min / median of runs)", value: Number(Math.min(...rpc).toFixed(2)), unit: "µs", note: `median ${median(rpc).toFixed(2)} µs; ${note}` });
}
emit(rows);
