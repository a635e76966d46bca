import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanup, requireBuild, runCli } from "../cli/helpers.ts";

const APP = join("test", "shards", "fixtures", "threads-app.ts");

/** The host's own files in a data directory: the single thread's, or every shard's. */
function hostFiles(dataDir: string): string[] {
  const shards = join(dataDir, "shards");
  const own = ["host.sqlite", "catalog.sqlite"].filter((name) => existsSync(join(dataDir, name)));
  const sharded = existsSync(shards) ? readdirSync(shards, { recursive: true }).map((name) => `shards/${String(name)}`) : [];
  return [...own, ...sharded].sort();
}

describe("a second Hearth on a data directory a running one serves", () => {
  let dataDir: string;
  beforeAll(() => requireBuild());
  afterEach(async () => {
    await cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });
  afterAll(() => cleanup());

  for (const [first, second] of [
    [1, 2],
    [2, 1],
  ] as const) {
    it(`is refused before it touches anything, started with --threads ${second} on one running with --threads ${first}`, async () => {
      dataDir = mkdtempSync(join(tmpdir(), "hearth-data-dir-lock-"));
      const running = runCli(["start", APP, "--threads", `${first}`, "--port", "0", "--data", dataDir]);
      const url = await running.ready();
      for (let i = 0; i < 4; i++) expect(((await (await fetch(`${url}/agents/room/r${i}`, { method: "POST" })).json()) as { count: number }).count).toBe(1);
      const files = hostFiles(dataDir);
      expect(files.length).toBeGreaterThan(0);

      const refused = runCli(["start", APP, "--threads", `${second}`, "--port", "0", "--data", dataDir]);
      const exit = await refused.exited();
      expect(exit.code).not.toBe(0);
      expect(refused.stderr()).toContain(`${dataDir} is in use by another Hearth process (pid ${running.proc.pid})`);
      // The first one's files are all there, and it goes on serving.
      expect(hostFiles(dataDir)).toEqual(files);
      for (let i = 0; i < 4; i++) expect(((await (await fetch(`${url}/agents/room/r${i}`, { method: "POST" })).json()) as { count: number }).count).toBe(2);
      running.proc.kill("SIGTERM");
      expect((await running.exited()).code).toBe(0);

      // Once it has stopped, the directory is free.
      const next = runCli(["start", APP, "--threads", `${second}`, "--port", "0", "--data", dataDir]);
      const nextUrl = await next.ready();
      expect(((await (await fetch(`${nextUrl}/agents/room/r0`, { method: "POST" })).json()) as { count: number }).count).toBe(3);
      next.proc.kill("SIGTERM");
      expect((await next.exited()).code).toBe(0);
    }, 120_000);
  }
});
