import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** One request the receiver got. */
export interface Received {
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Record<string, unknown>;
}

/** A real HTTP webhook receiver on loopback that records JSON bodies and answers the statuses it is told. */
export interface Receiver {
  readonly url: string;
  readonly received: Received[];
  /** Statuses for the next requests, in order; afterwards 200. */
  answer(...statuses: number[]): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const statuses: number[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push({ path: req.url ?? "", headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown> });
      const status = statuses.shift() ?? 200;
      const moved = status >= 300 && status < 400 ? { location: "https://elsewhere.example/hook" } : {};
      res.writeHead(status, { "content-type": "text/plain", ...moved }).end(status === 200 ? "ok" : "nope");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    answer: (...s) => void statuses.push(...s),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Waits until `condition` holds (checked every 5 ms), failing with `what` after 5 s. */
export async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000; // generous: a loaded machine is slow, the test timeout is 30 s
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), "hearth-alerts-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** An epoch at a round time, so ISO strings in payloads are easy to read. */
export const START = Date.parse("2026-01-01T00:00:00Z");
