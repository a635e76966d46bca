import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, cleanup, requireBuild, runCli, tempDir } from "../cli/helpers.ts";

/**
 * Two KV bindings on one namespace `id`, and two D1 bindings on one `database_name`, under
 * `hearth start --threads 2`: each pair shares one file (a KV file's lock is exclusive, so it can be
 * opened once), from a Durable Object on each thread.
 */
const WORKER = `import { DurableObject } from "cloudflare:workers";
import { isMainThread } from "node:worker_threads";

const threadId = isMainThread ? 0 : 1;

export class Room extends DurableObject {
  async fetch(request) {
    const url = new URL(request.url);
    const q = (name) => url.searchParams.get(name);
    const env = this.env;
    const answer = async (op) => {
      switch (op) {
        case "where": return null;
        case "kv-put-a": return env.A.put(q("k"), q("v"));
        case "kv-get-b": return env.B.get(q("k"));
        case "d1-init": return env.DB.exec("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
        case "d1-add": return (await env.DB.prepare("INSERT INTO notes (body) VALUES (?)").bind(q("body")).run()).meta.changes;
        case "d1-list-db2": return (await env.DB2.prepare("SELECT body FROM notes ORDER BY id").all()).results.map((row) => row.body);
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

export default {
  async fetch(request, env) {
    const [, , name] = new URL(request.url).pathname.split("/");
    return env.ROOM.get(env.ROOM.idFromName(name)).fetch(request);
  },
};
`;

const CONFIG = {
  main: "src/index.js",
  durable_objects: { bindings: [{ name: "ROOM", class_name: "Room" }] },
  migrations: [{ tag: "v1", new_sqlite_classes: ["Room"] }],
  kv_namespaces: [
    { binding: "A", id: "shared" },
    { binding: "B", id: "shared" },
  ],
  d1_databases: [
    { binding: "DB", database_name: "app", database_id: "x" },
    { binding: "DB2", database_name: "app", database_id: "x" },
  ],
};

interface Answer {
  thread: number;
  value?: unknown;
  error?: string;
}

describe("hearth start --threads 2: bindings that name the same namespace or database", () => {
  let dir: string;
  beforeAll(async () => {
    requireBuild();
    dir = await tempDir("hearth-threads-shared-names-");
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "wrangler.jsonc"), JSON.stringify(CONFIG));
    writeFileSync(join(dir, "src", "index.js"), WORKER);
  });
  afterAll(() => cleanup());

  it("start, share one file per KV id and per D1 database on every thread, and stop cleanly", async () => {
    const cli = runCli(["start", "--threads", "2", "--port", "0", "--data", join(dir, ".data"), "--no-traces"], { cwd: dir, env: cleanEnv() });
    const url = await cli.ready();
    const ask = async (room: string, op: string, query: Record<string, string> = {}): Promise<Answer> => {
      const response = await fetch(`${url}/room/${room}/${op}?${new URLSearchParams(query)}`, { headers: { connection: "close" } });
      return (await response.json()) as Answer;
    };
    const rooms = new Map<number, string>();
    for (let i = 0; rooms.size < 2 && i < 64; i++) {
      const name = `room-${i}`;
      const { thread } = await ask(name, "where");
      if (!rooms.has(thread)) rooms.set(thread, name);
    }
    expect([...rooms.keys()].sort()).toEqual([0, 1]);

    for (const [thread, room] of rooms) {
      const other = rooms.get(1 - thread)!;
      expect(await ask(room, "kv-put-a", { k: `key-${thread}`, v: `via A on thread ${thread}` })).toEqual({ thread, value: null });
      expect(await ask(room, "kv-get-b", { k: `key-${thread}` })).toEqual({ thread, value: `via A on thread ${thread}` });
      expect((await ask(other, "kv-get-b", { k: `key-${thread}` })).value).toBe(`via A on thread ${thread}`);
    }

    expect((await ask(rooms.get(1)!, "d1-init")).error).toBeUndefined();
    expect((await ask(rooms.get(0)!, "d1-add", { body: "via DB on thread 0" })).value).toBe(1);
    expect((await ask(rooms.get(1)!, "d1-add", { body: "via DB on thread 1" })).value).toBe(1);
    for (const room of rooms.values()) expect((await ask(room, "d1-list-db2")).value).toEqual(["via DB on thread 0", "via DB on thread 1"]);

    cli.proc.kill("SIGTERM");
    expect((await cli.exited()).code).toBe(0);
    expect(cli.output()).not.toMatch(/locked by another process/);
  }, 60_000);
});
