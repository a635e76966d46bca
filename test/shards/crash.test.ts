import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanup, requireBuild, runCli } from "../cli/helpers.ts";

const APP = join("test", "shards", "fixtures", "threads-app.ts");
const AGENTS = 8;

describe("hearth start --threads 2, killed with SIGKILL under load", () => {
  let dataDir: string;
  beforeAll(() => {
    requireBuild();
    dataDir = mkdtempSync(join(tmpdir(), "hearth-threads-crash-"));
  });
  afterAll(async () => {
    await cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("loses no acknowledged write, on either thread", async () => {
    const cli = runCli(["start", APP, "--threads", "2", "--port", "0", "--data", dataDir]);
    const url = await cli.ready();
    const acknowledged = new Array<number>(AGENTS).fill(0);
    const threads = new Set<number>();
    let killed = false;
    // One client per agent, each waiting for its answer before the next request.
    const clients = Array.from({ length: AGENTS }, async (_, agent) => {
      while (!killed) {
        try {
          const response = await fetch(`${url}/agents/room/crash-${agent}`, { method: "POST" });
          const { count, thread } = (await response.json()) as { count: number; thread: number };
          acknowledged[agent] = count;
          threads.add(thread);
        } catch {
          return; // the server is gone
        }
      }
    });
    while (acknowledged.some((count) => count < 20)) await new Promise((resolve) => setTimeout(resolve, 20));
    cli.proc.kill("SIGKILL");
    killed = true;
    await Promise.all(clients);
    await cli.exited();
    expect(threads.size).toBe(2); // both threads served agents (thread ids are the process's, not 0 and 1)

    const again = runCli(["start", APP, "--threads", "2", "--port", "0", "--data", dataDir]);
    const againUrl = await again.ready();
    for (let agent = 0; agent < AGENTS; agent++) {
      const response = await fetch(`${againUrl}/agents/room/crash-${agent}?count`);
      const { count } = (await response.json()) as { count: number };
      // Every acknowledged bump is there; at most the one in flight at the kill is there too.
      expect(count).toBeGreaterThanOrEqual(acknowledged[agent]!);
      expect(count).toBeLessThanOrEqual(acknowledged[agent]! + 1);
    }
    again.proc.kill("SIGTERM");
    expect((await again.exited()).code).toBe(0);
  });
});
