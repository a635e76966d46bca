import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterEach, describe, expect, it } from "vitest";
import { Agent, Host, serve, type HearthServer } from "../../../src/index.ts";
import { createHearthMetrics, NO_CLASS, PROMETHEUS_CONTENT_TYPE, type HearthMetrics } from "../../../src/observability/metrics/index.ts";
import { TestSocket } from "../../support/harness.ts";
import { parsePrometheusText, valueOf, type Family } from "./prom-text.ts";

class Notebook extends Agent {
  onRequest(request: Request) {
    const path = new URL(request.url).pathname;
    if (path.endsWith("/boom")) throw new Error("the notebook fell over");
    if (path.endsWith("/later")) return this.schedule(60, "remind", {}).then(() => new Response("scheduled"));
    if (path.endsWith("/unavailable")) return new Response("down", { status: 503 });
    return Response.json({ name: this.name });
  }
  remind() {}
}

class Room extends Agent {}

const SECRET_NAMES = ["alice-private-notes-7f3a", "bob.secret.journal", "carol_hidden_room"];

let dataDir: string;
let host: Host;
let server: HearthServer;
let metrics: HearthMetrics | undefined;
const sockets: TestSocket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await server.close();
  metrics?.close();
  metrics = undefined;
  await host.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(options: { metrics?: "default" | "custom" | "off"; clockAheadMs?: number } = {}): Promise<void> {
  dataDir = mkdtempSync(join(tmpdir(), "hearth-metrics-"));
  host = new Host({ dataDir, agents: { Notebook, Room } });
  const mode = options.metrics ?? "default";
  if (mode === "custom") metrics = createHearthMetrics({ host, clock: { now: () => Date.now() + (options.clockAheadMs ?? 0) } });
  server = await serve({ host, port: 0, metrics: mode === "off" ? false : mode === "custom" ? metrics! : true });
}

async function scrape(): Promise<{ text: string; families: Family[] }> {
  const response = await fetch(`${server.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe(PROMETHEUS_CONTENT_TYPE);
  const text = await response.text();
  return { text, families: parsePrometheusText(text) };
}

describe("GET /metrics", () => {
  it("parses as the text format and never carries an instance name after named agents were driven", async () => {
    await start();
    for (const name of SECRET_NAMES) {
      expect((await fetch(`${server.url}/agents/notebook/${name}/page`)).status).toBe(200);
      const socket = await TestSocket.open(`${server.url.replace(/^http/, "ws")}/agents/room/${name}`);
      sockets.push(socket);
      await socket.waitFor(() => true);
    }
    await fetch(`${server.url}/agents/notebook/${SECRET_NAMES[0]}/boom`);
    const { text, families } = await scrape();
    for (const name of SECRET_NAMES) expect(text).not.toContain(name);
    expect(valueOf(families, "hearth_http_requests_total", { class: "Notebook", method: "GET", status: "200" })).toBe(3);
    expect(valueOf(families, "hearth_http_request_duration_seconds_count", { class: "Notebook", method: "GET" })).toBe(4);
    expect(valueOf(families, "hearth_agents", { class: "Notebook", state: "live" })).toBe(3);
    expect(valueOf(families, "hearth_agents", { class: "Room", state: "live" })).toBe(3);
    expect(valueOf(families, "hearth_websockets_open", { class: "Room" })).toBe(3);
    const upgrades = families.find((f) => f.name === "hearth_http_requests_total")!.samples.filter((s) => s.labels.class === "Room");
    expect(upgrades.map((s) => [s.labels.method, s.labels.status, s.value])).toEqual([["GET", "101", 3]]);
    for (const stat of ["p50", "p99", "max"]) expect(valueOf(families, "hearth_eventloop_delay_seconds", { stat })).toBeGreaterThanOrEqual(0);
    // An independent parser of the text format reads the same families and values.
    const parsed = parsePrometheusTextFormat(text);
    expect(parsed.map((family) => family.name).sort()).toEqual(families.map((family) => family.name).sort());
    expect(parsed.find((family) => family.name === "hearth_http_request_duration_seconds")?.type).toBe("HISTOGRAM");
    const requests = parsed.find((family) => family.name === "hearth_http_requests_total")!;
    expect(requests.type).toBe("COUNTER");
    expect(requests.metrics.find((m) => m.labels?.class === "Notebook" && m.labels.status === "200")?.value).toBe("3");
    expect(valueOf(families, "hearth_process_memory_bytes", { kind: "rss" })).toBeGreaterThan(0);
  });

  it("counts a hibernated agent that keeps its WebSockets open", async () => {
    await start();
    const socket = await TestSocket.open(`${server.url.replace(/^http/, "ws")}/agents/room/${SECRET_NAMES[2]}`);
    sockets.push(socket);
    await socket.waitFor(() => true);
    expect(host.hibernateIdleAgents()).toBe(1);
    const { families } = await scrape();
    expect(valueOf(families, "hearth_agents", { class: "Room", state: "live" })).toBe(0);
    expect(valueOf(families, "hearth_agents", { class: "Room", state: "hibernated_with_sockets" })).toBe(1);
    expect(valueOf(families, "hearth_websockets_open", { class: "Room" })).toBe(1);
  });

  it("counts errors by reason: the worker threw, or answered 5xx", async () => {
    await start({ metrics: "custom" });
    const threw = await fetch(`${server.url}/agents/notebook/x/boom`);
    expect(threw.status).toBe(500);
    await fetch(`${server.url}/agents/notebook/x/unavailable`);
    const { families } = await scrape();
    expect(valueOf(families, "hearth_http_requests_total", { class: "Notebook", status: "503" })).toBe(1);
    expect(valueOf(families, "hearth_http_request_errors_total", { class: "Notebook", reason: "server_error" })).toBe(1);
    expect(valueOf(families, "hearth_http_request_errors_total", { class: "Notebook", reason: "exception" })).toBe(1);
    expect(valueOf(families, "hearth_http_requests_total", { class: "Notebook", status: "500" })).toBe(1);
  });

  it("labels unknown classes and non-agent paths with one bounded value, and bounds methods", async () => {
    await start();
    await fetch(`${server.url}/agents/no-such-class/someone`);
    await fetch(`${server.url}/elsewhere/${SECRET_NAMES[1]}`);
    await fetch(`${server.url}/agents/notebook/x`, { method: "PROPFIND" });
    const { text, families } = await scrape();
    expect(text).not.toContain("no-such-class");
    expect(text).not.toContain(SECRET_NAMES[1]);
    expect(valueOf(families, "hearth_http_requests_total", { class: NO_CLASS, status: "400" })).toBe(1);
    expect(valueOf(families, "hearth_http_requests_total", { class: NO_CLASS, status: "404" })).toBe(1);
    expect(valueOf(families, "hearth_http_requests_total", { class: "Notebook", method: "OTHER" })).toBe(1);
  });

  it("reports how overdue the earliest pending schedule is", async () => {
    await start({ metrics: "custom", clockAheadMs: 120_000 });
    expect(await (await fetch(`${server.url}/agents/notebook/${SECRET_NAMES[0]}/later`)).text()).toBe("scheduled");
    const { text, families } = await scrape();
    expect(text).not.toContain(SECRET_NAMES[0]);
    expect(valueOf(families, "hearth_schedule_agents_pending")).toBe(1);
    const overdue = valueOf(families, "hearth_schedule_overdue_seconds")!;
    // Due 60 s after the request, read at a clock 120 s ahead: 60 s late plus the time the request took.
    expect(overdue).toBeGreaterThanOrEqual(60);
    expect(overdue).toBeLessThan(120);
  });

  it("records tokens and cost by class and model, and schedule lag by class", async () => {
    await start({ metrics: "custom" });
    metrics!.recordTokens({ className: "Notebook", model: "gpt-5-mini", inputTokens: 800, outputTokens: 95, costUsd: 0.0004 });
    metrics!.recordTokens({ className: "Notebook", model: "gpt-5-mini", inputTokens: 200, outputTokens: 5 });
    metrics!.recordScheduleLag("Notebook", 2);
    const { families } = await scrape();
    expect(valueOf(families, "hearth_gen_ai_tokens_total", { class: "Notebook", model: "gpt-5-mini", type: "input" })).toBe(1000);
    expect(valueOf(families, "hearth_gen_ai_tokens_total", { class: "Notebook", model: "gpt-5-mini", type: "output" })).toBe(100);
    expect(valueOf(families, "hearth_gen_ai_cost_usd_total", { class: "Notebook", model: "gpt-5-mini" })).toBe(0.0004);
    expect(valueOf(families, "hearth_schedule_lag_seconds_bucket", { class: "Notebook", le: "1" })).toBe(0);
    expect(valueOf(families, "hearth_schedule_lag_seconds_bucket", { class: "Notebook", le: "5" })).toBe(1);
    expect(() => metrics!.recordTokens({ className: "A", model: "m", inputTokens: -1, outputTokens: 0 })).toThrow("recordTokens: inputTokens must be a finite number >= 0, got -1");
    expect(() => metrics!.recordTokens({ className: "A", model: "m", inputTokens: 1, outputTokens: 0, costUsd: NaN })).toThrow("recordTokens: costUsd must be a finite number >= 0, got NaN");
  });

  it("is off unless asked for: /metrics then reaches the worker", async () => {
    await start({ metrics: "off" });
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(404);
    expect(await response.text()).toContain("Not found: /metrics");
  });

  it("answers 500 naming the error when an application gauge throws, and the server goes on", async () => {
    await start({ metrics: "custom" });
    let broken = true;
    metrics!.registry.gauge({
      name: "app_queue_depth",
      help: "Jobs waiting.",
      collect: (gauge) => {
        if (broken) throw new Error("queue backend unreachable");
        gauge.set(undefined, 3);
      },
    });
    const failed = await fetch(`${server.url}/metrics`);
    expect(failed.status).toBe(500);
    expect(await failed.text()).toBe("Metrics unavailable: queue backend unreachable");
    broken = false;
    const { text } = await scrape();
    expect(text).toContain("app_queue_depth 3");
    expect((await fetch(`${server.url}/agents/notebook/a`)).status).toBe(200);
  });
});
