/**
 * Runs this example under `hearth dev` for its tests (support-team.test.ts and the Chromium test in
 * test/browser/support-team.test.ts): a copy of wrangler.jsonc in a fresh directory, pointing at this
 * folder's source, page and migrations, with the vars a test sets; the execution log's migration
 * applied; a loopback receiver for the Slack webhook; and the Desk spoken to over HTTP and WebSocket.
 */
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "jsonc-parser";
import { CLI, cleanEnv, runCli, tempDir, type CliProcess } from "../../test/cli/helpers.ts";

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** One event of a team run, as `hearth_team_event` frames carry it. */
export interface RunEvent {
  seq: number;
  type: string;
  path?: string;
  data?: { [key: string]: unknown; error?: { name: string; message: string } };
  at: number;
}

/** The example running under `hearth dev`. */
export interface RunningExample {
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** The project's directory (its data is in `.hearth/` there). */
  dir: string;
  dev: CliProcess;
  /** `dev` or `start`. */
  command: "dev" | "start";
}

/** The child's environment: the offline demo model, whatever keys the machine has. */
const childEnv = () => cleanEnv({ OPENAI_API_KEY: "", ANTHROPIC_API_KEY: "", OPENAI_BASE_URL: "" });

/**
 * Starts the example under `hearth dev` (or `hearth start`) with `vars` over those of wrangler.jsonc,
 * on the offline demo model whatever keys the machine has. Stop it with `cleanup()` from
 * test/cli/helpers.ts.
 */
export async function startExample(vars: Record<string, string> = {}, command: "dev" | "start" = "dev"): Promise<RunningExample> {
  const dir = await tempDir("hearth-support-team-");
  const config = parse(readFileSync(here("./wrangler.jsonc"), "utf8")) as {
    main: string;
    vars: Record<string, string>;
    assets: { directory: string };
    d1_databases: Array<{ migrations_dir: string }>;
  };
  // The source stays in this folder, so its `hearth/*` imports resolve to this repository's build.
  config.main = here("./src/index.ts");
  config.assets.directory = here("./public");
  for (const database of config.d1_databases) database.migrations_dir = here("./migrations");
  config.vars = { ...config.vars, ...vars };
  writeFileSync(join(dir, "wrangler.jsonc"), JSON.stringify(config, null, 2));
  const migrated = spawnSync(process.execPath, [CLI, "d1", "migrations", "apply", "DB"], { cwd: dir, env: childEnv(), encoding: "utf8", timeout: 30_000 });
  if (migrated.status !== 0) throw new Error(`hearth d1 migrations apply failed: ${migrated.stderr}${migrated.stdout}`);
  const dev = runCli([command, "--port", "0"], { cwd: dir, env: childEnv() });
  return { base: await dev.ready(), dir, dev, command };
}

/** Kills the example with SIGKILL (no shutdown of any kind) and starts it again on the same data. */
export async function killAndRestart(example: RunningExample): Promise<RunningExample> {
  example.dev.proc.kill("SIGKILL");
  await example.dev.exited();
  const dev = runCli([example.command, "--port", "0"], { cwd: example.dir, env: childEnv() });
  return { ...example, base: await dev.ready(), dev };
}

/** A Slack-style webhook receiver on loopback: what it got, in order. */
export interface WebhookReceiver {
  url: string;
  received: Array<{ headers: Record<string, string | string[] | undefined>; body: unknown }>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: WebhookReceiver["received"] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // kept as text
      }
      received.push({ headers: request.headers, body });
      response.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    url: `http://127.0.0.1:${address.port}/services/T000/B000/slack`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** `POST /agents/desk/<user>/ask`: the status, the body and the Retry-After header. */
export async function ask(base: string, user: string, question: string): Promise<{ status: number; body: { runId?: string; error?: string; message?: string }; retryAfter: string | null }> {
  const response = await fetch(`${base}/agents/desk/${user}/ask`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ question }),
  });
  return { status: response.status, body: (await response.json()) as { runId?: string }, retryAfter: response.headers.get("Retry-After") };
}

/** Asks and returns the run id, failing on anything but 202. */
export async function start(base: string, user: string, question: string): Promise<string> {
  const answer = await ask(base, user, question);
  if (answer.status !== 202 || answer.body.runId === undefined) throw new Error(`ask ${JSON.stringify(question)}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body.runId;
}

function socketTo(base: string, user: string): WebSocket {
  return new WebSocket(`${base.replace(/^http/, "ws")}/agents/desk/${user}`);
}

/** One call of a Desk method over its WebSocket, as the Agents SDK client sends it. */
export async function call<T = unknown>(base: string, user: string, method: string, args: unknown[] = []): Promise<T> {
  const socket = socketTo(base, user);
  try {
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${method}`)), 10_000);
      socket.addEventListener("open", () => socket.send(JSON.stringify({ type: "rpc", id: "1", method, args })));
      socket.addEventListener("message", (event) => {
        const frame = JSON.parse(String(event.data)) as { type: string; id?: string; success?: boolean; result?: T; error?: string };
        if (frame.type !== "rpc" || frame.id !== "1") return;
        clearTimeout(timer);
        if (frame.success) resolve(frame.result as T);
        else reject(new Error(frame.error));
      });
      socket.addEventListener("error", () => reject(new Error("socket error")));
    });
  } finally {
    socket.close();
  }
}

/**
 * Watches a run over the Desk's WebSocket (`hearth_team_watch` from the first event) until `until`
 * holds for an event — by default the run's end — and returns the events seen.
 */
export async function watchRun(base: string, user: string, runId: string, until: (event: RunEvent) => boolean = (event) => /^run-(completed|failed|cancelled)$/.test(event.type)): Promise<RunEvent[]> {
  const socket = socketTo(base, user);
  const events: RunEvent[] = [];
  try {
    return await new Promise<RunEvent[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`run ${runId}: no end within 20 s; events: ${events.map((e) => e.type).join(", ")}`)), 20_000);
      socket.addEventListener("open", () => socket.send(JSON.stringify({ type: "hearth_team_watch", runId, after: 0 })));
      socket.addEventListener("message", (message) => {
        const frame = JSON.parse(String(message.data)) as { type: string; runId?: string; event?: RunEvent; error?: string };
        if (frame.runId !== runId) return;
        if (frame.type === "hearth_team_error") return reject(new Error(frame.error));
        if (frame.type !== "hearth_team_event" || frame.event === undefined) return;
        events.push(frame.event);
        if (until(frame.event)) {
          clearTimeout(timer);
          resolve(events);
        }
      });
      socket.addEventListener("error", () => reject(new Error("socket error")));
    });
  } finally {
    socket.close();
  }
}

/** Waits, when a rate-limit window (60 s, aligned to the wall clock) ends within `ms`, until it has. */
export async function awayFromWindowEdge(ms: number): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < ms) await new Promise((resolve) => setTimeout(resolve, left + 50));
}
