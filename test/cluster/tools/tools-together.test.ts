import http from "node:http";
import type net from "node:net";
import { afterEach, beforeEach, expect, test } from "vitest";
import { formatReport } from "../support/checker.ts";
import { startFaultProxy, type FaultMode, type FaultProxy } from "../support/fault-proxy.ts";
import { createHistoryRecorder, type HistoryRecorder } from "../support/recorder.ts";

/** A correct list service over HTTP: POST /append/<key>/<value>, GET /read/<key>. */
function startListServer(): Promise<{ server: http.Server; port: number; lists: Map<string, string[]> }> {
  const lists = new Map<string, string[]>();
  const server = http.createServer((request, response) => {
    const [, verb, key = "", value = ""] = (request.url ?? "").split("/");
    const list = lists.get(key) ?? [];
    lists.set(key, list);
    request.resume();
    request.on("end", () => {
      if (verb === "append" && request.method === "POST") {
        list.push(value);
        response.writeHead(204).end();
      } else {
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(list));
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as net.AddressInfo).port, lists })),
  );
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

let service: Awaited<ReturnType<typeof startListServer>>;
let proxy: FaultProxy;
beforeEach(async () => {
  service = await startListServer();
  proxy = await startFaultProxy({ target: { host: "127.0.0.1", port: service.port } });
});
afterEach(async () => {
  await proxy.close();
  service.server.closeAllConnections();
  await new Promise((resolve) => service.server.close(resolve));
});

test("clients through the proxy under every fault leave a history the checker finds valid", async () => {
  const recorder: HistoryRecorder = createHistoryRecorder();
  const keys = ["agent-1", "agent-2"];
  let running = true;
  const request = async (path: string, method: "GET" | "POST"): Promise<Response> => {
    const response = await fetch(`http://${proxy.address}${path}`, { method, signal: AbortSignal.timeout(250) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return response;
  };
  const client = async (c: number): Promise<void> => {
    for (let i = 0; running; i++) {
      const key = keys[i % keys.length]!;
      const value = `${c}-${i}`;
      const appended = await recorder.append(key, value, () => request(`/append/${key}/${value}`, "POST"));
      const read = await recorder.read(key, async () => (await (await request(`/read/${key}`, "GET")).json()) as string[]);
      // Refusals come back at once; a short pause keeps a refused client from spinning.
      if (appended.outcome !== "ok" || read.outcome !== "ok") await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const clients = [0, 1, 2, 3].map(client);
  const count = (outcome: string, type?: "append" | "read"): number =>
    recorder.history.filter((op) => op.outcome === outcome && (type === undefined || op.type === type)).length;
  const more = async (mode: FaultMode, until: () => boolean, what: string): Promise<void> => {
    await proxy.mode(mode);
    await waitFor(what, until);
  };

  let ok = count("ok");
  await more("pass", () => count("ok") >= ok + 40, "40 ops in pass");
  ok = count("ok");
  await more({ delay: 5 }, () => count("ok") >= ok + 20, "20 ops with a delay");
  let info = count("info");
  await more("reset", () => count("info") > info, "an op cut by a reset");
  // The checker counts refused appends (a refused read proves nothing), so wait for one of those.
  const failed = count("fail", "append");
  await more("drop-new", () => count("fail", "append") > failed, "a refused append");
  info = count("info");
  await more("blackhole", () => count("info") > info, "an op timed out in the black hole");
  ok = count("ok");
  await more("pass", () => count("ok") >= ok + 40, "40 ops after the faults");
  running = false;
  await Promise.all(clients);

  // Nothing may still be on its way to the service when the final lists are read.
  await proxy.close();
  const connections = (): Promise<number> =>
    new Promise((resolve, reject) => service.server.getConnections((error, n) => (error ? reject(error) : resolve(n))));
  await waitFor("the service's connections to close", async () => (await connections()) === 0);
  const report = recorder.check(new Map(keys.map((key) => [key, service.lists.get(key) ?? []])));
  console.log(formatReport(report));
  expect(report.anomalies).toBe(0);
  expect(report.counts.failed).toBeGreaterThan(0);
  expect(report.counts.ok).toBeGreaterThan(0);
});

test("the checker sees a service that loses an acknowledged append", async () => {
  const recorder = createHistoryRecorder();
  for (let i = 0; i < 10; i++) {
    await recorder.append("k", `${i}`, async () => (await fetch(`http://${proxy.address}/append/k/${i}`, { method: "POST" })).status);
  }
  service.lists.get("k")!.splice(3, 1); // the service forgets one
  const report = recorder.check({ k: service.lists.get("k")! });
  expect(report.counts.lost).toBe(1);
  expect(formatReport(report)).toContain('key "k": value "3" acknowledged');
});
