/**
 * HTTP load generator, run in its own process by {@link runChild}: autocannon (in this process), or
 * `wrk` (a C program this process starts and waits for; far lighter than autocannon, so the server
 * gets more of a shared machine). `distinctPrefix` sends every request to a different agent name.
 */
import autocannon from "autocannon";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { childMain, removeDir } from "./common.ts";

export interface HttpLoadInput {
  url: string;
  method: "GET" | "POST";
  body?: string;
  connections: number;
  pipelining: number;
  /** Seconds. */
  duration: number;
  /** When set, every request goes to `url + distinctPrefix + "-" + …` (a never-seen agent each time). */
  distinctPrefix?: string;
  /** Default autocannon. */
  tool?: "autocannon" | "wrk";
  /** wrk's binary (default "wrk"). */
  wrkBinary?: string;
  /** wrk's threads (`-t`), default 1. */
  threads?: number;
}

export interface HttpLoadResult {
  /** 2xx responses. */
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Seconds, as measured by autocannon. */
  duration: number;
  /** 2xx responses per second. */
  rate: number;
  latencyP50: number;
  latencyP99: number;
  /** Distinct names sent (distinct mode; with wrk, the responses counted). */
  sent: number;
  /** "autocannon" or "wrk". */
  tool: string;
}

async function runAutocannon(input: HttpLoadInput): Promise<HttpLoadResult> {
  const target = new URL(input.url);
  let n = 0;
  const requests: autocannon.Request[] | undefined = input.distinctPrefix
    ? [
        {
          setupRequest: (request) => {
            request.path = `${target.pathname}${input.distinctPrefix}-${n++}`;
            return request;
          },
        },
      ]
    : undefined;
  const result = await autocannon({
    url: input.url,
    method: input.method,
    body: input.body,
    headers: input.body ? { "content-type": "application/json" } : undefined,
    connections: input.connections,
    pipelining: input.pipelining,
    duration: input.duration,
    requests,
  });
  const ok = result["2xx"];
  return {
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    duration: result.duration,
    rate: ok / result.duration,
    latencyP50: result.latency.p50,
    latencyP99: result.latency.p99,
    sent: n,
    tool: "autocannon",
  };
}

/**
 * The wrk script: method, body and headers; in distinct mode each thread numbers its own requests
 * (`<prefix>-<thread>-<n>`); at the end it prints one JSON line with the counts and latency (µs).
 */
function wrkScript(input: HttpLoadInput, path: string): string {
  const lines = [`wrk.method = ${JSON.stringify(input.method)}`];
  if (input.body !== undefined) {
    lines.push(`wrk.body = ${JSON.stringify(input.body)}`, `wrk.headers["Content-Type"] = "application/json"`);
  }
  if (input.distinctPrefix !== undefined) {
    lines.push(
      "local threads = 0",
      "function setup(thread) thread:set(\"tid\", threads); threads = threads + 1 end",
      "local n = 0",
      `function request() n = n + 1; return wrk.format(nil, ${JSON.stringify(`${path}${input.distinctPrefix}-`)} .. tid .. "-" .. n) end`,
    );
  }
  lines.push(
    "function done(summary, latency, requests)",
    "  local e = summary.errors",
    '  io.write(string.format(\'\\n{"requests":%d,"duration":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p99":%d}\\n\',',
    "    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99)))",
    "end",
  );
  return lines.join("\n") + "\n";
}

interface WrkSummary {
  requests: number;
  /** µs. */
  duration: number;
  connect: number;
  read: number;
  write: number;
  /** Responses with a status ≥ 400. */
  status: number;
  timeout: number;
  p50: number;
  p99: number;
}

async function runWrk(input: HttpLoadInput): Promise<HttpLoadResult> {
  const target = new URL(input.url);
  const dir = mkdtempSync(join(tmpdir(), "hearth-wrk-"));
  try {
    const script = join(dir, "load.lua");
    writeFileSync(script, wrkScript(input, target.pathname));
    const args = [`-t${input.threads ?? 1}`, `-c${input.connections}`, `-d${Math.max(1, Math.round(input.duration))}s`, "-s", script, input.url];
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(input.wrkBinary ?? "wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
      child.on("error", reject);
      child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk ${args.join(" ")} exited with ${code}: ${out}`))));
    });
    const line = output.split("\n").find((text) => text.startsWith("{\"requests\""));
    if (!line) throw new Error(`wrk printed no summary: ${output}`);
    const summary = JSON.parse(line) as WrkSummary;
    const duration = summary.duration / 1e6;
    // wrk counts a response with status ≥ 400 in both `requests` and `errors.status`.
    const ok = summary.requests - summary.status;
    return {
      ok,
      non2xx: summary.status,
      errors: summary.connect + summary.read + summary.write,
      timeouts: summary.timeout,
      duration,
      rate: ok / duration,
      latencyP50: summary.p50 / 1000,
      latencyP99: summary.p99 / 1000,
      sent: summary.requests,
      tool: "wrk",
    };
  } finally {
    removeDir(dir);
  }
}

childMain((input: HttpLoadInput) => (input.tool === "wrk" ? runWrk(input) : runAutocannon(input)));
