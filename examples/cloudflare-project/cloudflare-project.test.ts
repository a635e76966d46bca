/**
 * The Cloudflare project in this folder, run unchanged by `hearth dev` / `hearth start` from a copy in a
 * temporary directory: its wrangler.jsonc, its imports of `agents` and `cloudflare:*`, every binding.
 */
import { spawnSync } from "node:child_process";
import { cpSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLI, cleanEnv, cleanup, requireBuild, runCli, tempDir, until } from "../../test/cli/helpers.ts";

const EXAMPLE = new URL(".", import.meta.url).pathname;
const TOKEN = "tok-3f9a1c-not-for-logs";

beforeAll(requireBuild);
afterEach(cleanup);

/** A copy of the project (without data or vars files) in a fresh directory. */
async function copyProject(devVars: string | null = `API_TOKEN=${TOKEN}\n`): Promise<string> {
  const dir = await tempDir("hearth-cf-project-");
  cpSync(EXAMPLE, dir, { recursive: true, filter: (source) => !/\.hearth|\.dev\.vars$|\.test\.ts$/.test(source) });
  if (devVars !== null) writeFileSync(join(dir, ".dev.vars"), devVars);
  return dir;
}

/** Runs `hearth …` to completion in `dir`. */
function hearth(dir: string, args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, env: cleanEnv(), input, encoding: "utf8", timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function json(url: string, init?: RequestInit): Promise<unknown> {
  const response = await fetch(url, init);
  expect(response.status, `${url}: ${response.status}`).toBe(200);
  return response.json();
}

/** One RPC call over the agent's WebSocket, as the Agents SDK client sends it. */
async function rpc(base: string, agent: string, method: string, args: unknown[]): Promise<{ success: boolean; result?: unknown; error?: string }> {
  const socket = new WebSocket(`${base.replace("http", "ws")}/agents/notebook/${agent}`);
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${method}`)), 10_000);
      socket.addEventListener("open", () => socket.send(JSON.stringify({ type: "rpc", id: "1", method, args })));
      socket.addEventListener("message", (event) => {
        const frame = JSON.parse(String(event.data)) as { type: string; id?: string; success: boolean; result?: unknown; error?: string };
        if (frame.type === "rpc" && frame.id === "1") {
          clearTimeout(timer);
          resolve(frame);
        }
      });
      socket.addEventListener("error", () => reject(new Error("socket error")));
    });
  } finally {
    socket.close();
  }
}

/** Waits, when a rate-limit window (60 s, aligned to the wall clock) ends within `ms`, until it has. */
async function awayFromWindowEdge(ms: number): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < ms) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

describe("examples/cloudflare-project under hearth dev", () => {
  it("runs unchanged: vars, D1, KV, rate limits, queues, cron, workflows, loaders, assets, agents over WebSocket", async () => {
    const dir = await copyProject();
    const migrated = hearth(dir, ["d1", "migrations", "apply", "DB"]);
    expect(migrated.status, migrated.stderr + migrated.stdout).toBe(0);
    expect(migrated.stdout).toContain("0001_create_notes.sql");

    const dev = runCli(["dev", "--port", "0"], { cwd: dir });
    const base = await dev.ready();
    expect(dev.output()).toContain("wrangler.jsonc");
    expect(dev.output()).toMatch(/KV CACHE/);
    expect(dev.output()).toMatch(/migrate\s+applied v1/);
    expect(dev.output()).not.toContain(TOKEN);

    expect(await json(`${base}/api/config`)).toEqual({
      greeting: "Hello from the notebook",
      stage: "development",
      limits: { maxNoteLength: 500 },
      hasToken: true,
    });

    // The limit counts per wall-clock minute: a run that crossed into the next minute is repeated on
    // a fresh notebook (its own counter), so a slow machine cannot make the sixth call succeed.
    let demo = "";
    for (let attempt = 1; demo === ""; attempt++) {
      await awayFromWindowEdge(10_000);
      const name = `demo-${attempt}`;
      const minute = Math.floor(Date.now() / 60_000);
      for (let count = 1; count <= 5; count++) {
        expect(await rpc(base, name, "addNote", [`note ${count}`])).toMatchObject({ success: true, result: count });
      }
      const limited = await rpc(base, name, "addNote", ["one too many"]);
      if (Math.floor(Date.now() / 60_000) !== minute && attempt < 3) continue;
      expect(limited).toMatchObject({ success: false });
      expect(limited.error).toContain("Too many notes");
      demo = name;
    }
    expect(await rpc(base, demo, "list", [])).toMatchObject({ result: ["note 1", "note 2", "note 3", "note 4", "note 5"] });
    const tooLong = await rpc(base, "other", "addNote", ["x".repeat(501)]);
    expect(tooLong.error).toContain("at most 500 characters");

    const last = (await json(`${base}/api/last?notebook=${demo}`)) as { value: string; metadata: { at: number } };
    expect(last.value).toBe("note 5");
    expect(typeof last.metadata.at).toBe("number");

    // The queue consumer writes every note event to KV (batches of up to 10, or after 1 s).
    type NoteEvent = { notebook: string; text: string; attempts: number };
    const eventsOf = async (): Promise<NoteEvent[]> => ((await json(`${base}/api/events`)) as NoteEvent[]).filter((event) => event.notebook === demo);
    await until(async () => (await eventsOf()).length === 5, "the queue consumer has seen 5 events");
    const events = await eventsOf();
    expect(events.map((event) => event.text).sort()).toEqual(["note 1", "note 2", "note 3", "note 4", "note 5"]);
    expect(events.every((event) => event.attempts === 1)).toBe(true);

    // A cron trigger fired by hand, as wrangler dev offers it.
    const fired = await fetch(`${base}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("*/5 * * * *")}`);
    expect(fired.status).toBe(200);
    expect(await json(`${base}/api/cron`)).toMatchObject({ cron: "*/5 * * * *" });

    const { id } = (await json(`${base}/api/digest?notebook=${demo}`)) as { id: string };
    let status: { status: string; output?: unknown } = { status: "queued" };
    await until(async () => {
      status = (await json(`${base}/api/digest/status?id=${id}`)) as typeof status;
      return status.status === "complete" || status.status === "errored";
    }, "the digest workflow has finished");
    expect(status).toMatchObject({ status: "complete", output: { notebook: demo, count: 5 } });

    expect(await (await fetch(`${base}/api/sandbox`)).text()).toBe("hello from a dynamic worker");

    // Static assets: files, the SPA shell for client-side routes, the ASSETS binding, ETags.
    const page = await fetch(`${base}/`);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const etag = page.headers.get("etag");
    expect(etag).toBeTruthy();
    expect((await fetch(`${base}/`, { headers: { "If-None-Match": etag ?? "" } })).status).toBe(304);
    expect((await fetch(`${base}/app.js`)).headers.get("content-type")).toMatch(/javascript/);
    const route = await fetch(`${base}/notebooks/demo`, { headers: { "Sec-Fetch-Mode": "navigate" } });
    expect(route.status).toBe(200);
    expect(await route.text()).toContain("<title>Notebook</title>");
    expect(await (await fetch(`${base}/api/shell`)).text()).toContain("<title>Notebook</title>");
    expect((await fetch(`${base}/api/nothing-here`)).status).toBe(404);
  });

  it("a note and its queue event survive kill -9 right after the send", async () => {
    const dir = await copyProject();
    expect(hearth(dir, ["d1", "migrations", "apply", "DB"]).status).toBe(0);
    const first = runCli(["start", "--port", "0"], { cwd: dir });
    const base = await first.ready();
    await awayFromWindowEdge(5_000);
    expect(await rpc(base, "crash", "addNote", ["before the crash"])).toMatchObject({ success: true });
    first.proc.kill("SIGKILL");
    await first.exited();

    const second = runCli(["start", "--port", "0"], { cwd: dir });
    const again = await second.ready();
    await until(
      async () => ((await json(`${again}/api/events`)) as Array<{ text: string }>).some((event) => event.text === "before the crash"),
      "the message sent before kill -9 was delivered",
    );
    expect(await rpc(again, "crash", "list", [])).toMatchObject({ result: ["before the crash"] });
  });
});

describe("examples/cloudflare-project environments and secrets", () => {
  it("--env staging: its own vars, vars file and data", async () => {
    const dir = await copyProject();
    writeFileSync(join(dir, ".dev.vars.staging"), `API_TOKEN=${TOKEN}-staging\n`);
    expect(hearth(dir, ["d1", "migrations", "apply", "DB", "--env", "staging"]).status).toBe(0);
    const staging = runCli(["dev", "--env", "staging", "--port", "0"], { cwd: dir });
    const base = await staging.ready();
    expect(staging.output()).toMatch(/env: staging/);
    expect(await json(`${base}/api/config`)).toMatchObject({ stage: "staging", greeting: "Hello from staging", limits: { maxNoteLength: 200 } });
    expect(await rpc(base, "demo", "addNote", ["in staging"])).toMatchObject({ success: true, result: 1 });
    const envDirs = readdirSync(join(dir, ".hearth", "env"));
    expect(envDirs).toEqual(["staging"]);
    expect(readdirSync(join(dir, ".hearth", "env", "staging", "kv"))).toEqual(expect.arrayContaining(["cache-staging.sqlite"]));
  });

  it("a missing required secret stops start-up; hearth secret put stores it encrypted and never prints it", async () => {
    const dir = await copyProject(null);
    expect(hearth(dir, ["d1", "migrations", "apply", "DB", "--env", "production"]).status).toBe(0);
    const refused = hearth(dir, ["start", "--env", "production", "--port", "0"]);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain("Missing required secrets: API_TOKEN");

    const put = hearth(dir, ["secret", "put", "API_TOKEN", "--env", "production"], `${TOKEN}\n`);
    expect(put.status, put.stderr).toBe(0);
    expect(put.stdout + put.stderr).not.toContain(TOKEN);
    const listed = hearth(dir, ["secret", "list", "--env", "production"]);
    expect(JSON.parse(listed.stdout)).toEqual([{ name: "API_TOKEN", type: "secret_text" }]);
    for (const file of readdirSync(join(dir, ".hearth", "secrets"))) {
      expect(readFileSync(join(dir, ".hearth", "secrets", file)).includes(TOKEN)).toBe(false);
    }

    const production = runCli(["start", "--env", "production", "--port", "0"], { cwd: dir });
    const base = await production.ready();
    expect(await json(`${base}/api/config`)).toMatchObject({ stage: "production", hasToken: true });
    expect(production.output()).not.toContain(TOKEN);
    rmSync(join(dir, ".hearth"), { recursive: true, force: true });
  });
});
