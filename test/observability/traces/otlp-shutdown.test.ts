/**
 * The OTLP exporter's shutdown deadline, against real collectors on loopback that are down: one that
 * answers every export with 503, one that never answers. Shutdown (and tracing's close) completes,
 * drops what it could not send and says how many in one line; the span file is still closed.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import v8 from "node:v8";
import vm from "node:vm";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it, vi } from "vitest";
import { disableTracing, enableTracing, OtlpTraceExporter, withSpan, type SpanRecord } from "../../../src/observability/traces/index.ts";

let server: Server | undefined;
let dir: string | undefined;
afterEach(async () => {
  await disableTracing();
  vi.restoreAllMocks();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A collector on loopback: `answer` 503 to every export, or `never` answer at all. Counts the requests. */
async function collector(mode: "503" | "never"): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  server = createServer((req, res) => {
    requests++;
    req.resume();
    if (mode === "503") req.on("end", () => res.writeHead(503).end());
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, requests: () => requests };
}

/** Waits until `condition` holds, polling; fails after `ms` (of the monotonic clock: `Date` may be a test's virtual one). */
async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const end = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > end) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function record(name: string): SpanRecord {
  return { traceId: "a".repeat(32), spanId: "b".repeat(16), name, kind: "internal", startedAt: 1_700_000_000_000, endedAt: 1_700_000_000_010, status: { code: 0 }, attributes: {}, events: [], links: [] };
}

describe("OTLP exporter shutdown deadline", () => {
  it("stops retrying a collector that answers 503, drops the batch and says so in one line", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const { url, requests } = await collector("503");
    // The next retry is a minute away: only the deadline can end this shutdown within the test's time.
    const exporter = new OtlpTraceExporter({ endpoint: url, flushIntervalMs: 1, retryBaseMs: 60_000, shutdownTimeoutMs: 1_000 });
    for (const name of ["a", "b", "c"]) exporter.export(record(name));
    await until(() => requests() === 1);
    await expect(exporter.shutdown()).resolves.toBeUndefined();
    expect(requests()).toBe(1);
    expect(exporter.stats()).toMatchObject({ queued: 0, sent: 0, dropped: 3 });
    expect(errors.mock.calls.map((call) => String(call[0]))).toEqual([`[hearth] OTLP export to ${url} stopped at its 1 s shutdown deadline (HTTP 503); 3 spans dropped`]);
  });

  it("aborts the POST to a collector that never answers; tracing's close still closes the span file", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const { url, requests } = await collector("never");
    dir = mkdtempSync(join(tmpdir(), "hearth-otlp-"));
    const path = join(dir, "spans.sqlite");
    const tracing = enableTracing({ otlp: { endpoint: url, flushIntervalMs: 1, shutdownTimeoutMs: 100 }, store: { persist: { path } } });
    withSpan("unsent", {}, () => undefined);
    await until(() => requests() === 1);
    // A collection while the POST waits: what aborts it at the deadline must not have been collected.
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    gc();
    gc();
    await expect(tracing.close()).resolves.toBeUndefined();
    expect(tracing.exporter!.stats()).toMatchObject({ queued: 0, sent: 0, dropped: 1 });
    expect(errors.mock.calls.map((call) => String(call[0]))).toEqual([`[hearth] OTLP export to ${url} stopped at its 0.1 s shutdown deadline (no answer); 1 span dropped`]);
    // The store was closed after the exporter: its write-ahead log is folded into the file.
    expect(existsSync(`${path}-wal`)).toBe(false);
    const db = new DatabaseSync(path, { readOnly: true });
    expect(db.prepare("SELECT count(*) AS n FROM spans").get()?.n).toBe(1);
    db.close();
  });

  it("flush returns at the deadline and keeps the spans queued for later", async () => {
    const { url, requests } = await collector("never");
    const exporter = new OtlpTraceExporter({ endpoint: url, flushIntervalMs: 60_000, shutdownTimeoutMs: 100 });
    exporter.export(record("waiting"));
    await expect(exporter.flush()).resolves.toBeUndefined();
    expect(requests()).toBe(1);
    expect(exporter.stats()).toMatchObject({ sent: 0, dropped: 0 });
    vi.spyOn(console, "error").mockImplementation(() => {});
    await exporter.shutdown();
    expect(exporter.stats()).toMatchObject({ sent: 0, dropped: 1 });
  });

  it("refuses a deadline that is not a positive number", () => {
    expect(() => new OtlpTraceExporter({ endpoint: "http://127.0.0.1:4318/v1/traces", shutdownTimeoutMs: 0 })).toThrow(
      "OTLP exporter shutdownTimeoutMs must be a positive number, got 0",
    );
  });
});
