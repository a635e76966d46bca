import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanup, requireBuild, runCli, tempDir } from "./helpers.ts";

const CHATTY = "test/cli/fixtures/chatty.ts";

beforeAll(requireBuild);
afterEach(cleanup);

/** The JSON log lines printed so far. */
function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("hearth start: logs", () => {
  it("writes console output inside an agent as JSON lines with its class, name, request and trace ids, secrets redacted", async () => {
    const data = await tempDir();
    const cli = runCli(["start", CHATTY, "--port", "0", "--data", data]);
    const url = await cli.ready();
    const response = await fetch(`${url}/agents/chatty/ada`, { headers: { "x-request-id": "req-42" } });
    expect(await response.text()).toBe("ok");
    await cli.waitFor(/something broke/);
    const lines = jsonLines(cli.stdout());
    const info = lines.find((line) => typeof line.msg === "string" && line.msg.startsWith("handling"));
    expect(info).toMatchObject({ level: 30, agent: "Chatty", name: "ada", requestId: "req-42" });
    expect(info?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(info?.msg).toContain("/agents/chatty/ada");
    expect(info?.msg).toContain("[Redacted]");
    expect(info?.msg).not.toContain("hunter2");
    const error = lines.find((line) => line.level === 50);
    expect(error).toMatchObject({ agent: "Chatty", name: "ada", err: { type: "Error", message: "something broke" } });
  });

  it("turns the runtime's own messages into JSON lines too (a request whose agent threw)", async () => {
    const data = await tempDir();
    const cli = runCli(["start", CHATTY, "--port", "0", "--data", data]);
    const url = await cli.ready();
    expect((await fetch(`${url}/agents/chatty/ada/boom`)).status).toBe(500);
    await cli.waitFor(/fell over/);
    const failure = jsonLines(cli.stdout()).find((line) => JSON.stringify(line).includes("fell over"));
    expect(failure).toMatchObject({ level: 50, err: { message: "the chatty agent fell over" } });
    expect(cli.stderr()).not.toContain("fell over");
  });

  it("logs an agent's failed request once, with the agent and the request", async () => {
    const data = await tempDir();
    const cli = runCli(["start", CHATTY, "--port", "0", "--data", data]);
    const url = await cli.ready();
    expect((await fetch(`${url}/agents/chatty/ada/boom`)).status).toBe(500);
    await cli.waitFor(/fell over/);
    // Anything else the gateway would log comes right after: give it the time to.
    expect((await fetch(`${url}/agents/chatty/bo`)).status).toBe(200);
    await cli.waitFor(/handling \/agents\/chatty\/bo/);
    const failures = jsonLines(cli.stdout()).filter((line) => JSON.stringify(line).includes("fell over"));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ level: 50, agent: "Chatty", name: "ada", msg: "[hearth] Chatty/ada (GET /agents/chatty/ada/boom):" });
    expect(failures[0]?.requestId).toEqual(expect.any(String));
  });

  it("writes the runtime's messages from before the server listens as JSON lines too", async () => {
    const data = await tempDir();
    const first = runCli(["start", CHATTY, "--port", "0", "--data", data]);
    await (await fetch(`${await first.ready()}/agents/chatty/ada`)).text();
    first.proc.kill("SIGTERM");
    expect((await first.exited()).code).toBe(0);
    // Without its schedule index the runtime rebuilds it while it opens the data directory, and says so.
    for (const name of readdirSync(data)) if (name.startsWith("host.sqlite")) rmSync(join(data, name));
    const cli = runCli(["start", CHATTY, "--port", "0", "--data", data]);
    await cli.ready();
    const beforeBanner = cli.stdout().slice(0, cli.stdout().indexOf("hearth start ·")).split("\n").filter((line) => line !== "");
    expect(beforeBanner.length).toBeGreaterThan(0);
    for (const line of beforeBanner) expect(line).toMatch(/^\{.*\}$/);
    const rebuilt = jsonLines(cli.stdout()).find((line) => String(line.msg).includes("[hearth] rebuilt the schedule index"));
    expect(rebuilt, "the rebuild's line").toBeDefined();
    expect(rebuilt!.level, "an info line, not an error: nothing failed").toBe(30);
    expect(cli.stderr()).not.toContain("[hearth]");
  });

  it("prints readable lines with --log-format pretty, and nothing below --log-level", async () => {
    const data = await tempDir();
    const cli = runCli(["start", CHATTY, "--port", "0", "--data", data, "--log-format", "pretty", "--log-level", "error"]);
    const url = await cli.ready();
    await (await fetch(`${url}/agents/chatty/bo`)).text();
    await cli.waitFor(/something broke/);
    const out = cli.stdout();
    expect(out).not.toMatch(/^\{/m);
    expect(out).not.toContain("handling");
    expect(out).toMatch(/ERROR.*Chatty\/bo.*something broke/);
  });

  it("refuses an unknown level or format with a usage error", async () => {
    const cli = runCli(["start", CHATTY, "--log-level", "loud"]);
    expect((await cli.exited()).code).toBe(2);
    expect(cli.stderr()).toContain("--log-level must be one of trace, debug, info, warn, error, fatal, silent");
  });
});
