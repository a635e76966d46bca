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
