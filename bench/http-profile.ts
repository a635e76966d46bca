/**
 * Focused driver for the one-agent HTTP path: CPU µs per request of the server process and req/s,
 * for Hearth (the http-state Counter: POST does setState + one INSERT) and a bare node:http server,
 * side by side in the same run, loaded by `wrk` (a C load generator, far lighter than autocannon).
 *
 *   npx node bench/http-profile.ts [--seconds 5] [--rounds 2] [--connections 32] [--profile out.cpuprofile]
 *
 * `--transport memory` replaces wrk and the kernel's loopback TCP with in-process connections
 * (`duplexPair`) driven by a small client in this process: no syscalls, no second process, so the
 * CPU per request moves far less with the machine's other load. Its figures include that client's
 * own cost, the same for both servers: compare Hearth with bare, not with the wrk figures.
 *
 * `--interleave K` (with several builds in HEARTH_DIST, memory transport) keeps one server per build
 * up and measures them in K short alternating slices (A B B A …): on a shared machine a slow minute
 * then costs every build alike, so differences of a few percent become visible.
 *
 * `--read-body` makes the agent read the request body (`await request.text()`) before its writes.
 *
 * `--profile` samples the server's main thread during the Hearth measurement only and prints the top
 * functions by self time. `HEARTH_DIST` points at another build of the package (default ../dist).
 */
import { spawn } from "node:child_process";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { duplexPair } from "node:stream";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Session } from "node:inspector/promises";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { flag } from "./lib/common.ts";

const SECONDS = Number(flag("seconds") ?? 5);
const ROUNDS = Number(flag("rounds") ?? 2);
const CONNECTIONS = Number(flag("connections") ?? 32);
const PROFILE = flag("profile");
const MEMORY = flag("transport") === "memory";
const INTERLEAVE = Number(flag("interleave") ?? 0);
/** The agent reads the POST's body before its writes (the http-state agent does not). */
const READ_BODY = process.argv.includes("--read-body");

// serve() makes its own node:http server: catch it, to hand it in-process connections.
const http = createRequire(import.meta.url)("node:http") as typeof import("node:http");
const createHttpServer = http.createServer;
let lastServer: Server | undefined;
http.createServer = ((...args: Parameters<typeof createHttpServer>) => (lastServer = createHttpServer(...args))) as typeof createHttpServer;
syncBuiltinESMExports();
/** Builds to compare in the same run, comma-separated (HEARTH_DIST; default ../dist). */
const DISTS = (process.env.HEARTH_DIST ?? new URL("../dist", import.meta.url).pathname).split(",");

type Hearth = typeof import("../dist/index.js");

/** The http-state Counter, on a given build (the class must extend that build's Agent). */
function counterOf(hearth: Hearth) {
  return class Counter extends hearth.Agent<unknown, { count: number }> {
    override initialState = { count: 0 };
    override onStart(): void {
      this.sql`CREATE TABLE IF NOT EXISTS hits (n INTEGER NOT NULL, at INTEGER NOT NULL)`;
    }
    override onRequest(request: Request): Response | Promise<Response> {
      if (request.method !== "POST") return Response.json({ count: this.state.count });
      if (READ_BODY) return request.text().then(() => this.#bump());
      return this.#bump();
    }
    #bump(): Response {
      const count = this.state.count + 1;
      this.setState({ count });
      this.sql`INSERT INTO hits (n, at) VALUES (${count}, ${Date.now()})`;
      return Response.json({ count });
    }
  };
}

const builds = await Promise.all(
  DISTS.map(async (dist) => ({ dist, hearth: (await import(pathToFileURL(join(dist, "index.js")).href)) as Hearth })),
);

interface Load {
  requests: number;
  rate: number;
  cpuMicros: number;
  non2xx: number;
}

const luaDir = mkdtempSync(join(tmpdir(), "hearth-wrk-"));
const lua = join(luaDir, "post.lua");
writeFileSync(lua, `wrk.method = "POST"\nwrk.body = "{}"\nwrk.headers["Content-Type"] = "application/json"\n`);

function wrk(url: string, seconds: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("wrk", ["-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, "-s", lua, url], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited ${code}: ${out}`))));
  });
}

async function measure(url: string, server: Server, session?: Session, profileFile = PROFILE): Promise<Load> {
  const drive = MEMORY ? (seconds: number) => memoryLoad(server, new URL(url).pathname, seconds) : (seconds: number) => wrk(url, seconds);
  await drive(1); // warm-up: JIT, the agent's start
  if (session) await session.post("Profiler.start");
  const before = process.cpuUsage();
  const out = await drive(SECONDS);
  const cpu = process.cpuUsage(before);
  if (session && profileFile) {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(profileFile, JSON.stringify(profile));
    printTop(profile);
  }
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN);
  const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return { requests, rate, cpuMicros: (cpu.user + cpu.system) / requests, non2xx };
}

/**
 * wrk's load without wrk: CONNECTIONS in-process connections, each sending the next POST as soon as
 * the previous response is complete. Reports in wrk's words so that measure() reads both alike.
 */
function memoryLoad(server: Server, path: string, seconds: number): Promise<string> {
  const request = Buffer.from(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`);
  const deadline = performance.now() + seconds * 1000;
  let requests = 0;
  let non2xx = 0;
  let open = CONNECTIONS;
  return new Promise((resolve) => {
    for (let c = 0; c < CONNECTIONS; c++) {
      const [serverSide, client] = duplexPair();
      server.emit("connection", serverSide);
      let pending: Buffer = Buffer.alloc(0);
      client.on("data", (chunk: Buffer) => {
        pending = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
        for (;;) {
          const end = pending.indexOf("\r\n\r\n");
          if (end < 0) return;
          const head = pending.subarray(0, end).toString("latin1");
          const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (pending.length < end + 4 + length) return;
          if (!head.startsWith("HTTP/1.1 2")) non2xx++;
          requests++;
          pending = pending.subarray(end + 4 + length);
          if (performance.now() < deadline) {
            client.write(request);
          } else {
            client.end();
            if (--open === 0) resolve(`${requests} requests in ${seconds}s\nRequests/sec: ${requests / seconds}\nNon-2xx or 3xx responses: ${non2xx}\n`);
            return;
          }
        }
      });
      client.write(request);
    }
  });
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

function printTop(profile: { nodes: ProfileNode[]; samples?: number[] }): void {
  const self = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const where = `${node.callFrame.functionName || "(anon)"} ${node.callFrame.url.replace(/^.*\/(node_modules|dist|src)\//, "$1/")}:${node.callFrame.lineNumber + 1}`;
    self.set(where, (self.get(where) ?? 0) + hits);
  }
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 40);
  for (const [where, hits] of top) console.log(`${((100 * hits) / total).toFixed(1).padStart(5)}%  ${where}`);
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

async function bare(): Promise<Load> {
  let count = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      const body = JSON.stringify({ count: ++count });
      response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      response.end(body);
    });
  });
  const url = await listen(server);
  const session = PROFILE && process.env.PROFILE_BARE ? new Session() : undefined;
  session?.connect();
  if (session) await session.post("Profiler.enable");
  try {
    return await measure(`${url}/`, server, session, `${PROFILE}.bare`);
  } finally {
    session?.disconnect();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

async function viaHearth(hearth: Hearth): Promise<Load> {
  const dataDir = mkdtempSync(join(tmpdir(), "hearth-http-profile-"));
  const host = new hearth.Host({ dataDir, agents: { Counter: counterOf(hearth) } });
  const server = await hearth.serve({ host, port: 0 });
  const httpServer = lastServer!;
  const session = PROFILE ? new Session() : undefined;
  session?.connect();
  if (session) await session.post("Profiler.enable");
  try {
    return await measure(`${server.url}/agents/counter/hot`, httpServer, session);
  } finally {
    session?.disconnect();
    await server.close();
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Every build's server at once, measured in alternating slices; returns CPU µs per request by label. */
async function interleaved(): Promise<void> {
  const servers = await Promise.all(
    builds.map(async ({ dist, hearth }) => {
      const dataDir = mkdtempSync(join(tmpdir(), "hearth-http-profile-"));
      const host = new hearth.Host({ dataDir, agents: { Counter: counterOf(hearth) } });
      const server = await hearth.serve({ host, port: 0 });
      return { label: dist.split("/").slice(-2).join("/"), dataDir, host, server, http: lastServer!, cpu: 0, requests: 0 };
    }),
  );
  const slice = SECONDS / INTERLEAVE;
  try {
    for (const s of servers) await memoryLoad(s.http, "/agents/counter/hot", 1);
    const session = PROFILE ? new Session() : undefined;
    session?.connect();
    if (session) await session.post("Profiler.enable");
    if (session) await session.post("Profiler.start");
    for (let k = 0; k < INTERLEAVE; k++) {
      const order = k % 2 === 0 ? servers : [...servers].reverse();
      for (const s of order) {
        const before = process.cpuUsage();
        const out = await memoryLoad(s.http, "/agents/counter/hot", slice);
        const cpu = process.cpuUsage(before);
        s.cpu += cpu.user + cpu.system;
        s.requests += Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
      }
    }
    if (session && PROFILE) {
      const { profile } = await session.post("Profiler.stop");
      writeFileSync(PROFILE, JSON.stringify(profile));
      session.disconnect();
    }
    for (const s of servers) console.log(`${s.label.padEnd(16)} ${(s.cpu / s.requests).toFixed(1).padStart(6)} µs CPU/req over ${s.requests} requests`);
  } finally {
    for (const s of servers) {
      await s.server.close();
      await s.host.close();
      rmSync(s.dataDir, { recursive: true, force: true });
    }
  }
}

const show = (label: string, load: Load) =>
  `${label.padEnd(16)} ${load.rate.toFixed(0).padStart(7)} req/s  ${load.cpuMicros.toFixed(1).padStart(6)} µs CPU/req${load.non2xx ? `  ${load.non2xx} non-2xx` : ""}`;
/** Per label, every round's figures: the minimum and median say more than one run on a shared machine. */
const seen = new Map<string, Load[]>();
const record = (label: string, load: Load) => {
  seen.set(label, [...(seen.get(label) ?? []), load]);
  return load;
};
const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
try {
  if (INTERLEAVE > 0) {
    await interleaved();
    process.exit(0);
  }
  for (let round = 0; round < ROUNDS; round++) {
    const b = record("bare", await bare());
    console.log(show("bare", b));
    for (const { dist, hearth } of builds) {
      const label = builds.length > 1 ? dist.split("/").slice(-2).join("/") : "hearth";
      const h = record(label, await viaHearth(hearth));
      console.log(`${show(label, h)}  → ${((100 * h.rate) / b.rate).toFixed(0)}% of bare`);
    }
  }
  if (ROUNDS > 1) {
    console.log(`over ${ROUNDS} rounds (CPU µs/req min / median; req/s max / median):`);
    for (const [label, loads] of seen) {
      const cpu = loads.map((l) => l.cpuMicros);
      const rate = loads.map((l) => l.rate);
      console.log(`${label.padEnd(16)} ${Math.min(...cpu).toFixed(1)} / ${median(cpu).toFixed(1)} µs   ${Math.max(...rate).toFixed(0)} / ${median(rate).toFixed(0)} req/s`);
    }
  }
} finally {
  rmSync(luaDir, { recursive: true, force: true });
}
