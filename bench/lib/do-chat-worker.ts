/**
 * The plain-Durable-Object chat workload of bench/durable-objects.ts, as one Worker that runs unchanged
 * on both runtimes: a `ChatRoom` per name accepts WebSockets with the Hibernation API; each message is
 * one SQL INSERT and one reply (the new row's id) to its sender. Written into a directory with a
 * wrangler.json for `hearth start` and a Cap'n Proto config for `workerd serve`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The Worker, as a Cloudflare user writes it (plain JavaScript, no Hearth import). */
export const CHAT_WORKER_SOURCE = `import { DurableObject } from "cloudflare:workers";

export class ChatRoom extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, sender TEXT NOT NULL, body TEXT NOT NULL, sent_at INTEGER NOT NULL)",
    );
  }

  async fetch(request) {
    if (request.headers.get("Upgrade") !== "websocket") {
      const { n } = this.ctx.storage.sql.exec("SELECT count(*) AS n FROM messages").one();
      return Response.json({ messages: n });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ sender: new URL(request.url).searchParams.get("sender") ?? "anonymous" });
    return new Response(null, { status: 101, webSocket: client });
  }

  webSocketMessage(ws, message) {
    const { sender } = ws.deserializeAttachment();
    const row = this.ctx.storage.sql
      .exec("INSERT INTO messages (sender, body, sent_at) VALUES (?, ?, ?) RETURNING id", sender, message, Date.now())
      .one();
    ws.send(String(row.id));
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/health") return new Response("ok");
    const match = /^\\/rooms\\/([^/]+)$/.exec(url.pathname);
    if (!match) return new Response("Not found", { status: 404 });
    return env.ROOMS.get(env.ROOMS.idFromName(decodeURIComponent(match[1]))).fetch(request);
  },
};
`;

/** The Worker's file name in the project directory. */
const WORKER_FILE = "worker.js";

/** Writes the Worker, a package.json and the wrangler.json `hearth start` reads into `dir`. */
export function writeHearthProject(dir: string, compatibilityDate: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, WORKER_FILE), CHAT_WORKER_SOURCE);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "do-chat-bench", private: true, type: "module" }, null, 2));
  const wrangler = {
    name: "do-chat-bench",
    main: WORKER_FILE,
    compatibility_date: compatibilityDate,
    durable_objects: { bindings: [{ name: "ROOMS", class_name: "ChatRoom" }] },
    migrations: [{ tag: "v1", new_sqlite_classes: ["ChatRoom"] }],
  };
  writeFileSync(join(dir, "wrangler.json"), JSON.stringify(wrangler, null, 2));
}

/**
 * Writes the Worker and a workerd config into `dir`: the Worker with a SQLite-backed Durable Object
 * namespace (`enableSql`) stored on local disk under `storageDir`. The socket's address is given on
 * the command line. Returns the config's path.
 */
export function writeWorkerdProject(dir: string, storageDir: string, compatibilityDate: string): string {
  mkdirSync(dir, { recursive: true });
  mkdirSync(storageDir, { recursive: true });
  writeFileSync(join(dir, WORKER_FILE), CHAT_WORKER_SOURCE);
  const config = `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .chatWorker),
    (name = "do-storage", disk = (path = ${JSON.stringify(storageDir)}, writable = true)),
  ],
  sockets = [(name = "http", http = (), service = "main")],
);

const chatWorker :Workerd.Worker = (
  modules = [(name = ${JSON.stringify(WORKER_FILE)}, esModule = embed ${JSON.stringify(WORKER_FILE)})],
  compatibilityDate = ${JSON.stringify(compatibilityDate)},
  durableObjectNamespaces = [(className = "ChatRoom", uniqueKey = "hearth-bench-chat-room", enableSql = true)],
  durableObjectStorage = (localDisk = "do-storage"),
  bindings = [(name = "ROOMS", durableObjectNamespace = "ChatRoom")],
);
`;
  const path = join(dir, "config.capnp");
  writeFileSync(path, config);
  return path;
}
