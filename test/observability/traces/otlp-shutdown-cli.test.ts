/**
 * `hearth start` stopping while its OTLP collector is down: the exporter gives up at its shutdown
 * deadline, says how many spans it dropped, and the steps after it still run (the log store is
 * closed, so SQLite removes its -wal file).
 */
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, cleanup, requireBuild, runCli, tempDir } from "../../cli/helpers.ts";

const COUNTER = "examples/counter/src/index.ts";

let collector: Server | undefined;

beforeAll(requireBuild);
afterEach(async () => {
  await cleanup();
  collector?.closeAllConnections();
  await new Promise<void>((resolve) => (collector ? collector.close(() => resolve()) : resolve()));
  collector = undefined;
});

/** A collector on loopback that answers every export with 503 (no Retry-After). */
async function unavailableCollector(): Promise<{ url: string; posts: () => number }> {
  let posts = 0;
  collector = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      posts++;
      res.writeHead(503).end();
    });
  });
  await new Promise<void>((resolve) => collector!.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`, posts: () => posts };
}

describe("hearth start with a collector that answers 503", () => {
  it("stops within the exporter's deadline, reports the dropped spans and closes every store", async () => {
    const { url: collectorUrl, posts } = await unavailableCollector();
    const data = await tempDir();
    const cli = runCli(["start", COUNTER, "--port", "0", "--data", data], { env: cleanEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl }) });
    const url = await cli.ready();
    expect((await fetch(`${url}/agents/counter/alice`, { method: "POST" })).status).toBe(200);
    cli.proc.kill("SIGTERM");
    expect(await cli.exited()).toEqual({ code: 0, signal: null });
    expect(posts()).toBeGreaterThan(0);
    expect(cli.output()).toMatch(/\[hearth\] OTLP export to http:\/\/127\.0\.0\.1:\d+\/v1\/traces stopped at its \d+(\.\d+)? s shutdown deadline \((?:HTTP 503|no answer)\); \d+ spans? dropped/);
    // The stores after tracing were closed: their write-ahead logs are folded in and removed.
    expect(existsSync(join(data, "observability", "logs.sqlite"))).toBe(true);
    expect(existsSync(join(data, "observability", "logs.sqlite-wal"))).toBe(false);
    expect(existsSync(join(data, "observability", "spans.sqlite-wal"))).toBe(false);
  });
});
