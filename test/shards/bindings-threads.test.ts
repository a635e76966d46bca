import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, cleanup, requireBuild, runCli, tempDir, type CliProcess } from "../cli/helpers.ts";

/**
 * A wrangler project's bindings under `hearth start --threads 2`: every binding is used from a
 * Durable Object on each thread (an object runs on the thread that owns its name), and what one
 * thread writes the other reads.
 */
const WORKER = `import { DurableObject, WorkflowEntrypoint } from "cloudflare:workers";
import { isMainThread } from "node:worker_threads";

// The first shard is the main thread; with two threads the other is shard 1.
const threadId = isMainThread ? 0 : 1;

export class Room extends DurableObject {
  async fetch(request) {
    const url = new URL(request.url);
    const q = (name) => url.searchParams.get(name);
    const env = this.env;
    const answer = async (op) => {
      switch (op) {
        case "where": return null;
        case "kv-put": return env.CACHE.put(q("k"), q("v"));
        case "kv-put-later": return new Promise((resolve) => setTimeout(resolve, Number(q("ms")))).then(() => env.CACHE.put(q("k"), q("v")));
        case "kv-get": return env.CACHE.get(q("k"));
        case "kv-list": return (await env.CACHE.list({ prefix: q("prefix") })).keys.map((key) => key.name);
        case "d1-init": return env.DB.exec("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
        case "d1-add": return (await env.DB.prepare("INSERT INTO notes (body) VALUES (?)").bind(q("body")).run()).meta.changes;
        case "d1-list": return (await env.DB.prepare("SELECT body FROM notes ORDER BY id").all()).results.map((row) => row.body);
        case "d1-batch": return (await env.DB.batch([env.DB.prepare("INSERT INTO notes (body) VALUES ('batch')"), env.DB.prepare("SELECT nope FROM nowhere")])).length;
        case "limit": return (await env.LIMIT.limit({ key: q("key") })).success;
        case "limit-bad": return (await env.LIMIT.limit(q("how") === "symbol" ? { key: Symbol("s") } : { key: "k", extra: () => 1 })).success;
        case "send": return env.JOBS.send(q("body"));
        case "wf-create": return (await env.FLOW.create({ id: q("id") })).id;
        case "wf-status": return (await (await env.FLOW.get(q("id"))).status());
        case "wf-go": return (await (await env.FLOW.get(q("id"))).sendEvent({ type: "go", payload: q("say") }));
      }
      throw new Error("unknown op " + op);
    };
    try {
      return Response.json({ thread: threadId, value: (await answer(url.pathname.split("/").pop())) ?? null });
    } catch (error) {
      return Response.json({ thread: threadId, error: error.message }, { status: 500 });
    }
  }
}

export class Flow extends WorkflowEntrypoint {
  async run(event, step) {
    const first = await step.do("first", async () => threadId);
    const go = await step.waitForEvent("go", { type: "go", timeout: "1 hour" });
    const second = await step.do("second", async () => threadId);
    return { first, second, said: go.payload };
  }
}

export default {
  async fetch(request, env) {
    const [, , name] = new URL(request.url).pathname.split("/");
    return env.ROOM.get(env.ROOM.idFromName(name)).fetch(request);
  },
  async queue(batch, env) {
    for (const message of batch.messages) await env.CACHE.put("consumed:" + message.body, String(threadId));
  },
};
`;

const CONFIG = {
  main: "src/index.js",
  durable_objects: { bindings: [{ name: "ROOM", class_name: "Room" }] },
  migrations: [{ tag: "v1", new_sqlite_classes: ["Room"] }],
  kv_namespaces: [{ binding: "CACHE", id: "cache1" }],
  d1_databases: [{ binding: "DB", database_name: "main", database_id: "x" }],
  ratelimits: [{ name: "LIMIT", namespace_id: "1001", simple: { limit: 5, period: 60 } }],
  queues: { producers: [{ binding: "JOBS", queue: "jobs" }], consumers: [{ queue: "jobs", max_batch_timeout: 0.1 }] },
  workflows: [{ name: "flow", binding: "FLOW", class_name: "Flow" }],
  triggers: { crons: ["0 0 * * *"] },
};

interface Answer {
  thread: number;
  value?: unknown;
  error?: string;
}

describe("hearth start --threads 2: a project's bindings are shared by the threads", () => {
  let dir: string;
  beforeAll(async () => {
    requireBuild();
    dir = await tempDir("hearth-threads-bindings-");
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "wrangler.jsonc"), JSON.stringify(CONFIG));
    writeFileSync(join(dir, "src", "index.js"), WORKER);
  });
  afterAll(() => cleanup());

  const start = async (threads: number): Promise<{ cli: CliProcess; url: string }> => {
    const cli = runCli(["start", "--threads", String(threads), "--port", "0", "--data", join(dir, ".data"), "--no-traces"], { cwd: dir, env: cleanEnv() });
    return { cli, url: await cli.ready() };
  };
  const stop = async (cli: CliProcess): Promise<void> => {
    cli.proc.kill("SIGTERM");
    expect((await cli.exited()).code).toBe(0);
  };

  it("KV, D1, rate limits, queues and workflows: one state for every thread, kept across thread counts", async () => {
    const { cli, url } = await start(2);
    expect(cli.stdout()).toMatch(/threads\s+2\s/);
    const ask = async (room: string, op: string, query: Record<string, string> = {}): Promise<Answer> => {
      const response = await fetch(`${url}/room/${room}/${op}?${new URLSearchParams(query)}`, { headers: { connection: "close" } });
      return (await response.json()) as Answer;
    };
    // A room on each thread.
    const rooms = new Map<number, string>();
    for (let i = 0; rooms.size < 2 && i < 64; i++) {
      const name = `room-${i}`;
      const { thread } = await ask(name, "where");
      if (!rooms.has(thread)) rooms.set(thread, name);
    }
    expect([...rooms.keys()].sort()).toEqual([0, 1]);
    const [first, second] = [rooms.get(0)!, rooms.get(1)!];

    // KV: written on one thread, read and listed on the other.
    expect(await ask(second, "kv-put", { k: "greeting", v: "from thread 1" })).toEqual({ thread: 1, value: null });
    expect(await ask(first, "kv-get", { k: "greeting" })).toEqual({ thread: 0, value: "from thread 1" });
    await ask(first, "kv-put", { k: "greeting-2", v: "from thread 0" });
    expect((await ask(second, "kv-list", { prefix: "greeting" })).value).toEqual(["greeting", "greeting-2"]);

    // D1: one database; a failing batch rolls back on the first thread, whichever thread sent it.
    expect((await ask(second, "d1-init")).error).toBeUndefined();
    for (let i = 0; i < 6; i++) expect((await ask(i % 2 === 0 ? first : second, "d1-add", { body: `note ${i}` })).value).toBe(1);
    const batch = await ask(second, "d1-batch");
    expect(batch.error).toMatch(/no such table: nowhere/);
    const notes = Array.from({ length: 6 }, (_, i) => `note ${i}`);
    expect((await ask(first, "d1-list")).value).toEqual(notes);
    expect((await ask(second, "d1-list")).value).toEqual(notes);

    // Rate limits count for the process: 5 a minute for a key, whichever threads the calls come from.
    // (A call that straddles the minute's end starts a new window: then the round is tried again.)
    let successes: boolean[] = [];
    for (let round = 0; round < 3; round++) {
      const minute = Math.floor(Date.now() / 60_000);
      successes = [];
      for (let i = 0; i < 8; i++) successes.push((await ask(i % 2 === 0 ? first : second, "limit", { key: `user-${round}` })).value as boolean);
      if (Math.floor(Date.now() / 60_000) === minute) break;
    }
    expect(successes).toEqual([true, true, true, true, true, false, false, false]);
    // Options that cannot cross threads get the binding's own errors on every thread.
    for (const room of [first, second]) {
      expect((await ask(room, "limit-bad", { how: "function" })).error).toBe("bad rate limit options: [extra]");
      expect((await ask(room, "limit-bad", { how: "symbol" })).error).toBe("invalid key: Symbol(s)");
    }

    // Queues: sent from the second thread, consumed once, by the consumer on the first.
    for (const body of ["a", "b", "c"]) expect((await ask(second, "send", { body })).error).toBeUndefined();
    const consumed = async (body: string): Promise<unknown> => {
      for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 50))) {
        const { value } = await ask(second, "kv-get", { k: `consumed:${body}` });
        if (value !== null) return value;
      }
      return null;
    };
    for (const body of ["a", "b", "c"]) expect(await consumed(body)).toBe("0");

    // Workflows: created from the second thread, run by the engine on the first, seen from both.
    expect((await ask(second, "wf-create", { id: "w1" })).value).toBe("w1");
    const status = async (room: string, id: string, until: string): Promise<{ status: string; output?: unknown }> => {
      let last: { status: string; output?: unknown } = { status: "unknown" };
      for (const deadline = Date.now() + 15_000; last.status !== until && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 50))) {
        last = (await ask(room, "wf-status", { id })).value as typeof last;
      }
      return last;
    };
    expect((await status(second, "w1", "waiting")).status).toBe("waiting");
    expect((await status(first, "w1", "waiting")).status).toBe("waiting");
    expect((await ask(first, "wf-create", { id: "w1" })).error).toMatch(/already exists/);
    await stop(cli);

    // One thread, same data: everything is where the threads left it.
    const single = await start(1);
    const askSingle = async (op: string, query: Record<string, string> = {}): Promise<unknown> =>
      ((await (await fetch(`${single.url}/room/${first}/${op}?${new URLSearchParams(query)}`, { headers: { connection: "close" } })).json()) as Answer).value;
    expect(await askSingle("kv-get", { k: "greeting" })).toBe("from thread 1");
    expect(await askSingle("d1-list")).toEqual(notes);
    expect(((await askSingle("wf-status", { id: "w1" })) as { status: string }).status).toBe("waiting");
    await stop(single.cli);

    // Two threads again: the instance made under two threads, kept under one, finishes from the second thread's event.
    const again = await start(2);
    const askAgain = async (room: string, op: string, query: Record<string, string> = {}): Promise<Answer> =>
      (await (await fetch(`${again.url}/room/${room}/${op}?${new URLSearchParams(query)}`, { headers: { connection: "close" } })).json()) as Answer;
    expect((await askAgain(second, "wf-go", { id: "w1", say: "hello" })).error).toBeUndefined();
    let done: { status: string; output?: unknown } = { status: "unknown" };
    for (const deadline = Date.now() + 15_000; done.status !== "complete" && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 50))) {
      done = (await askAgain(second, "wf-status", { id: "w1" })).value as typeof done;
    }
    expect(done).toMatchObject({ status: "complete", output: { first: 0, second: 0, said: "hello" } });
    await stop(again.cli);
  }, 90_000);

  it("keeps the first thread's bindings open while another thread's agents finish at a stop", async () => {
    const { cli, url } = await start(2);
    const ask = async (room: string, op: string, query: Record<string, string> = {}, base = url): Promise<{ status: number; answer: Answer }> => {
      const response = await fetch(`${base}/room/${room}/${op}?${new URLSearchParams(query)}`, { headers: { connection: "close" } });
      return { status: response.status, answer: (await response.json()) as Answer };
    };
    let second = "";
    for (let i = 0; second === "" && i < 64; i++) if ((await ask(`late-${i}`, "where")).answer.thread === 1) second = `late-${i}`;
    expect(second).not.toBe("");
    // Thread 1's object writes KV 5 s into the stop: past the stop's grace (4 s), which cuts its client's
    // connection, while its host drains; the first thread, idle, has long drained by then.
    void ask(second, "kv-put-later", { k: "written-late", v: "yes", ms: "5000" }).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 200));
    cli.proc.kill("SIGTERM");
    expect((await cli.exited()).code).toBe(0);
    const again = await start(1);
    expect((await ask(second, "kv-get", { k: "written-late" }, again.url)).answer).toEqual({ thread: 0, value: "yes" });
    await stop(again.cli);
  });
});
