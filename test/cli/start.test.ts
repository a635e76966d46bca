import { availableParallelism } from "node:os";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES, cleanEnv, cleanup, freePort, requireBuild, runCli, tempDir } from "./helpers.ts";

const COUNTER = "examples/counter/src/index.ts";

beforeAll(requireBuild);
afterEach(cleanup);

async function post(url: string): Promise<string> {
  const response = await fetch(url, { method: "POST" });
  expect(response.status).toBe(200);
  return response.text();
}

describe("hearth start", () => {
  it("serves the counter example and keeps its count across a killed process", async () => {
    const data = await tempDir();
    const first = runCli(["start", COUNTER, "--port", "0", "--data", data]);
    const url = await first.ready();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(url).not.toBe("http://127.0.0.1:0");
    expect(await post(`${url}/agents/counter/alice`)).toBe("1");
    expect(await post(`${url}/agents/counter/alice`)).toBe("2");
    expect(await post(`${url}/agents/counter/bob`)).toBe("1");

    first.proc.kill("SIGKILL");
    expect((await first.exited()).signal).toBe("SIGKILL");

    const second = runCli(["start", COUNTER, "--port", "0", "--data", data]);
    const again = await second.ready();
    expect(await post(`${again}/agents/counter/alice`)).toBe("3");
    // The worker's own fetch answers what the router does not.
    const missing = await fetch(`${again}/nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe("Not found");
  });

  it("prints a banner with the entry, agents, data directory and real URL", async () => {
    const data = await tempDir();
    const cli = runCli(["start", COUNTER, "--port", "0", "--data", data, "--durability", "strict"]);
    const url = await cli.ready();
    const banner = cli.stdout();
    expect(banner).toContain(`hearth start · ${COUNTER}`);
    expect(banner).toMatch(new RegExp(`agents\\s+Counter\\s+→ ${url}/agents/counter/:name`));
    expect(banner).toContain(`data     ${data}  (durability: strict)`);
    expect(banner).toContain(`ready    ${url}`);
    expect(banner).toContain(`metrics  ${url}/metrics`);
  });

  it("on every address (--host 0.0.0.0), shows URLs a browser on this machine can open", async () => {
    const cli = runCli(["start", COUNTER, "--host", "0.0.0.0", "--port", "0", "--data", await tempDir()]);
    const url = await cli.ready();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const banner = cli.stdout();
    expect(banner).not.toContain("0.0.0.0:");
    expect(banner).toMatch(new RegExp(`agents\\s+Counter\\s+→ ${url}/agents/counter/:name`));
    expect(banner).toContain(`metrics  ${url}/metrics`);
    expect(banner).toContain(`ready    ${url}  (listening on every address: 0.0.0.0)`);
    expect(await post(`${url}/agents/counter/alice`)).toBe("1");
  });

  it("serves Prometheus metrics at /metrics, without instance names; --no-metrics turns it off", async () => {
    const data = await tempDir();
    const cli = runCli(["start", COUNTER, "--port", "0", "--data", data]);
    const url = await cli.ready();
    await post(`${url}/agents/counter/secret-customer-42`);
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toContain("text/plain");
    const text = await metrics.text();
    // One thread per core by default: with several, each series names the thread that counted it.
    expect(text).toMatch(/^hearth_http_requests_total\{(?:thread="\d+",)?class="Counter",method="POST",status="200"\} 1$/m);
    expect(text).not.toContain("secret-customer-42");
    cli.proc.kill("SIGTERM");
    await cli.exited();

    const off = runCli(["start", COUNTER, "--port", "0", "--data", data, "--no-metrics"]);
    const offUrl = await off.ready();
    expect(off.stdout()).not.toContain("/metrics");
    expect((await fetch(`${offUrl}/metrics`)).status).toBe(404);
  });

  it("runs one thread per core by default, and one with --threads 1", async () => {
    const data = await tempDir();
    const cores = Math.min(64, availableParallelism());
    const asShipped = cleanEnv();
    delete asShipped.HEARTH_THREADS; // the suite's one thread (cleanEnv) is not the default checked here
    const cli = runCli(["start", COUNTER, "--port", "0", "--data", data], { env: asShipped });
    await cli.ready();
    if (cores > 1) expect(cli.stdout()).toMatch(new RegExp(`^  threads\\s+${cores}\\s`, "m"));
    else expect(cli.stdout()).not.toMatch(/threads\s/);
    cli.proc.kill("SIGTERM");
    await cli.exited();
    const one = runCli(["start", COUNTER, "--threads", "1", "--port", "0", "--data", data]);
    await one.ready();
    expect(one.stdout()).not.toMatch(/threads\s/);
    one.proc.kill("SIGTERM");
    await one.exited();
  });

  it("runs @callable() methods over WebSocket RPC", async () => {
    const data = await tempDir();
    const cli = runCli(["start", COUNTER, "--port", "0", "--data", data]);
    const url = await cli.ready();
    const socket = new WebSocket(`${url.replace("http", "ws")}/agents/counter/rpc-test`);
    try {
      const reply = new Promise<{ success: boolean; result: unknown }>((resolve, reject) => {
        socket.addEventListener("message", (event) => {
          const frame = JSON.parse(String(event.data)) as { type: string; id?: string; success: boolean; result: unknown };
          if (frame.type === "rpc" && frame.id === "call-1") resolve(frame);
        });
        socket.addEventListener("error", () => reject(new Error("WebSocket error")));
      });
      await new Promise((resolve) => socket.addEventListener("open", resolve, { once: true }));
      socket.send(JSON.stringify({ type: "rpc", id: "call-1", method: "increment", args: [5] }));
      expect(await reply).toMatchObject({ success: true, result: 5 });
    } finally {
      socket.close();
    }
    expect(await post(`${url}/agents/counter/rpc-test`)).toBe("6");
  });

  it("passes vars from .env and .dev.vars, with the process environment winning for declared names", async () => {
    const cwd = await tempDir();
    await writeFile(join(cwd, ".env"), "GREETING=from .env\nONLY_IN_DOTENV=yes\nOVERRIDDEN=from .env\n");
    await writeFile(join(cwd, ".dev.vars"), 'GREETING="hello from .dev.vars"\nOVERRIDDEN=from .dev.vars\n');
    const env = cleanEnv({ OVERRIDDEN: "from the shell", UNDECLARED: "not passed" });
    const cli = runCli(["start", join(FIXTURES, "greeter.ts"), "--port", "0"], { cwd, env });
    const url = await cli.ready();
    // No default export: the default router serves the agent.
    const response = await fetch(`${url}/agents/greeter/someone`);
    expect(await response.json()).toEqual({
      greeting: "hello from .dev.vars",
      onlyInDotenv: "yes",
      overridden: "from the shell",
      undeclared: null,
    });
    // Data goes to ./.hearth by default.
    expect(cli.stdout()).toContain(`data     ${join(cwd, ".hearth")}`);
  });

  it("takes port and data directory from HEARTH_* variables, flags winning", async () => {
    const fromEnv = await tempDir();
    const fromFlag = await tempDir();
    const port = await freePort();
    const env = cleanEnv({ HEARTH_PORT: String(port), HEARTH_HOST: "127.0.0.1", HEARTH_DATA_DIR: fromEnv });
    // Side by side: their ports and data directories differ.
    const byEnv = runCli(["start", COUNTER], { env });
    const byFlag = runCli(["start", COUNTER, "--port", "0", "--data", fromFlag], { env });
    expect(await byEnv.ready()).toBe(`http://127.0.0.1:${port}`);
    expect(byEnv.stdout()).toContain(`data     ${fromEnv}  `);

    expect(await byFlag.ready()).not.toBe(`http://127.0.0.1:${port}`);
    expect(byFlag.stdout()).toContain(`data     ${fromFlag}  `);
  });

  it("stops gracefully on SIGTERM and SIGINT", async () => {
    // One server per signal, started side by side (each with its own data directory).
    const signals = ["SIGTERM", "SIGINT"] as const;
    const clis = await Promise.all(signals.map(async () => runCli(["start", COUNTER, "--port", "0", "--data", await tempDir()])));
    for (const [i, signal] of signals.entries()) {
      const cli = clis[i]!;
      const url = await cli.ready();
      expect(await post(`${url}/agents/counter/x`)).toBe("1");
      cli.proc.kill(signal);
      expect(await cli.exited()).toEqual({ code: 0, signal: null });
      await expect(fetch(`${url}/agents/counter/x`, { method: "POST" })).rejects.toThrow();
    }
  });
});
