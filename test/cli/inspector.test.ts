import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanup, freePort, requireBuild, ROOT, runCli, tempDir } from "./helpers.ts";

const COUNTER = "examples/counter/src/index.ts";

beforeAll(requireBuild);
afterEach(cleanup);

describe("hearth start --inspector", () => {
  it("serves the inspector on loopback behind the token printed in the banner, with the admin token kept in the data directory", async () => {
    const data = await tempDir();
    const cli = runCli(["start", COUNTER, "--port", "0", "--data", data, "--inspector"]);
    const url = await cli.ready();
    await fetch(`${url}/agents/counter/alice`, { method: "POST" });
    const match = cli.stdout().match(/inspect\s+(http:\/\/127\.0\.0\.1:\d+\/)#token=(\S+)\s+\(read-only; admin token in (\S+)\)/);
    expect(match, cli.stdout()).not.toBeNull();
    const [, inspector, token, adminFile] = match!;
    expect(adminFile).toBe(`${data}/inspector/admin-token`);
    expect(readFileSync(adminFile!, "utf8").trim().length).toBeGreaterThanOrEqual(16);
    expect((await fetch(`${inspector}api/overview`)).status).toBe(401);
    const overview = await fetch(`${inspector}api/overview`, { headers: { authorization: `Bearer ${token}` } });
    expect(overview.status).toBe(200);
    const body = (await overview.json()) as { agents: { classes: Array<{ class: string; total: number }> } };
    expect(body.agents.classes).toContainEqual(expect.objectContaining({ class: "Counter", total: 1 }));
    const agents = await fetch(`${inspector}api/agents?class=Counter`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await agents.json()) as { items: Array<{ name: string }> }).items.map((item) => item.name)).toEqual(["alice"]);

    // `hearth inspect` finds the running server's inspector through the data directory (two
    // read-only commands, side by side).
    const listed = runCli(["inspect", "agents", "Counter", "--data", data]);
    const state = runCli(["inspect", "state", "Counter/alice", "--data", data]);
    expect((await listed.exited()).code).toBe(0);
    expect((JSON.parse(listed.stdout()) as { items: Array<{ name: string }> }).items.map((item) => item.name)).toEqual(["alice"]);
    expect((await state.exited()).code).toBe(0);
    expect(JSON.parse(state.stdout())).toEqual({ state: { count: 1 } });
  });

  it("is off under start unless asked, and refuses to bind beyond loopback without saying so loudly", async () => {
    // Two servers side by side, each on its own data directory.
    const quiet = runCli(["start", COUNTER, "--port", "0", "--data", await tempDir()]);
    const data = await tempDir();
    const exposed = runCli(["start", COUNTER, "--port", "0", "--data", data, "--inspector", "--inspector-host", "0.0.0.0", "--inspector-port", "0"]);
    await quiet.ready();
    expect(quiet.stdout()).not.toContain("inspect ");
    quiet.proc.kill("SIGTERM");
    await quiet.exited();

    await exposed.ready();
    expect(exposed.stdout()).toContain("WARNING: the inspector listens on 0.0.0.0, beyond this machine");
    exposed.proc.kill("SIGTERM");
    await exposed.exited();
    const none = runCli(["inspect", "overview", "--data", data]);
    expect((await none.exited()).code).toBe(1);
    expect(none.stderr()).toContain(`No running inspector for ${data}`);
  });
});

describe("the inspector's port in use", () => {
  it("is named as the port of the server wrangler's dev.port chose, plus one", async () => {
    // A server port whose next port is taken by someone else.
    const { port, blocker } = await portBeforeTakenOne();
    try {
      const dir = await tempDir("hearth-inspector-port-");
      writeFileSync(join(dir, "wrangler.jsonc"), JSON.stringify({ main: "index.ts", dev: { port } }));
      writeFileSync(join(dir, "index.ts"), `export default { fetch: () => new Response("ok") };\n`);
      const cli = runCli(["start", "--inspector", "--data", join(dir, "data")], { cwd: dir });
      expect((await cli.exited()).code).toBe(1);
      expect(cli.stderr()).toContain(`The inspector's port ${port + 1} is already in use`);
    } finally {
      blocker.close();
    }
  });
});

describe("the inspector on the server's own port", () => {
  it("says the two must differ, when wrangler's dev.port is the --inspector-port given", async () => {
    const port = await freePort();
    const dir = await tempDir("hearth-inspector-port-");
    writeFileSync(join(dir, "wrangler.jsonc"), JSON.stringify({ main: "index.ts", dev: { port } }));
    writeFileSync(join(dir, "index.ts"), `export default { fetch: () => new Response("ok") };\n`);
    const cli = runCli(["start", "--inspector", "--inspector-port", String(port), "--data", join(dir, "data")], { cwd: dir });
    expect((await cli.exited()).code).toBe(1);
    expect(cli.stderr()).toContain(`The inspector's port and the server's must differ: both are ${port}.`);
    expect(cli.stderr()).not.toContain("already in use");
  });
});

async function portBeforeTakenOne(): Promise<{ port: number; blocker: Server }> {
  for (;;) {
    const blocker = createServer().listen(0, "127.0.0.1");
    await once(blocker, "listening");
    const taken = (blocker.address() as AddressInfo).port;
    const probe = createServer().listen(taken - 1, "127.0.0.1");
    // One promise for both outcomes: `once(probe, "listening")` would reject on the "error" a taken port emits.
    const free = await new Promise<boolean>((resolve) => {
      probe.once("listening", () => resolve(true));
      probe.once("error", () => resolve(false));
    });
    probe.close();
    if (free) return { port: taken - 1, blocker };
    blocker.close();
  }
}

describe("alerts in hearth.config.ts", () => {
  it("loads rules and contact points at start, and refuses a bad rule with a clear startup error", async () => {
    // The good and the bad configuration, each in a project of its own, start side by side.
    const project = await tempDir("hearth-alerts-project-");
    const badProject = await tempDir("hearth-alerts-project-");
    const entry = join(ROOT, COUNTER);
    writeFileSync(join(badProject, "hearth.config.ts"), `export default { alerts: { rules: [{ id: "x", kind: "error", name: "x", window: "forever", threshold: 1, severity: "warning" }] } };\n`);
    const bad = runCli(["start", entry, "--port", "0"], { cwd: badProject });
    writeFileSync(
      join(project, "hearth.config.ts"),
      `export default { alerts: {
        contactPoints: [{ name: "ops", kind: "webhook", url: "http://127.0.0.1:9/hook" }],
        rules: [{ id: "same-bug", kind: "error", name: "Same bug again", window: "15m", perFingerprint: true, threshold: 20, severity: "warning" }],
      } };\n`,
    );
    const cli = runCli(["start", entry, "--port", "0", "--inspector"], { cwd: project });
    await cli.ready();
    const [, inspector, token] = cli.stdout().match(/inspect\s+(http:\/\/127\.0\.0\.1:\d+\/)#token=(\S+)/)!;
    const alerts = (await (await fetch(`${inspector}api/alerts`, { headers: { authorization: `Bearer ${token}` } })).json()) as { rules: Array<{ id: string; state: string }> };
    expect(alerts.rules.map((rule) => [rule.id, rule.state])).toEqual([["same-bug", "inactive"]]);
    cli.proc.kill("SIGTERM");
    await cli.exited();

    expect((await bad.exited()).code).not.toBe(0);
    expect(bad.stderr()).toContain("hearth.config.ts: alerts: rule.window");
  });
});
