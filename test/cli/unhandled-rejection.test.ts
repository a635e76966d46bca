/**
 * `hearth start` (and so `hearth dev`, whose server it is) logs a promise rejection nobody handled,
 * naming the agent whose event left it, and keeps serving, on every thread, as workerd does.
 */
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanup, requireBuild, runCli, tempDir, type CliProcess } from "./helpers.ts";

const APP = join("test", "cli", "fixtures", "rejects.ts");

let running: CliProcess | undefined;
beforeAll(() => requireBuild());
afterEach(async () => {
  running?.proc.kill("SIGTERM");
  await running?.exited();
  running = undefined;
});
afterAll(() => cleanup());

describe("an unhandled promise rejection under hearth start", () => {
  it("is logged with its agent, and the server keeps serving, on each of two threads", { timeout: 120_000 }, async () => {
    const cli = runCli(["start", APP, "--port", "0", "--data", await tempDir(), "--threads", "2", "--log-format", "pretty"]);
    running = cli;
    const url = await cli.ready();
    const threads = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const response = await fetch(`${url}/agents/leaky/room-${i}`, { headers: { connection: "close" } });
      expect(response.status).toBe(200);
      threads.add(((await response.json()) as { thread: number }).thread);
      await cli.waitFor(new RegExp(`unhandled promise rejection in Leaky/room-${i}[^\\n]*[\\s\\S]*?nobody handles this \\(room-${i}\\)`));
    }
    expect(threads.size).toBe(2);
    // Still serving after all of them.
    expect((await fetch(`${url}/agents/leaky/again`)).status).toBe(200);
    expect(cli.proc.exitCode).toBeNull();
  });
});
