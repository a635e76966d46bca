import { Agent, callable, routeAgentRequest, type WorkerLoader } from "hearth";

interface Env {
  LOADER: WorkerLoader;
}

/**
 * One agent per customer: `/agents/tenant/<customer>`. Customers deploy small apps (ES modules they
 * wrote, or a model wrote for them); the agent keeps each app's source in its own SQL and serves it
 * through the loader at `/agents/tenant/<customer>/apps/<app>/…`. Each app runs in a sandbox with no
 * network and one capability: a key-value store limited to its own customer.
 */
export class Tenant extends Agent<Env> {
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS apps (name TEXT PRIMARY KEY, source TEXT NOT NULL, version INTEGER NOT NULL)`;
    this.sql`CREATE TABLE IF NOT EXISTS data (key TEXT PRIMARY KEY, value TEXT NOT NULL)`;
  }

  /** Stores (or replaces) an app; returns its new version. */
  @callable() deploy(name: string, source: string): number {
    if (!/^[a-z][a-z0-9-]{0,39}$/.test(name)) throw new TypeError("App names are 1-40 of a-z, 0-9 and -, starting with a letter");
    if (source.length > 256 * 1024) throw new RangeError("An app's source is at most 256 KiB");
    const [current] = this.sql<{ version: number }>`SELECT version FROM apps WHERE name = ${name}`;
    const version = (current?.version ?? 0) + 1;
    this.sql`INSERT INTO apps (name, source, version) VALUES (${name}, ${source}, ${version})
      ON CONFLICT (name) DO UPDATE SET source = excluded.source, version = excluded.version`;
    return version;
  }

  @callable() apps(): Array<{ name: string; version: number }> {
    return this.sql<{ name: string; version: number }>`SELECT name, version FROM apps ORDER BY name`;
  }

  async onRequest(request: Request): Promise<Response> {
    const match = /\/apps\/([a-z][a-z0-9-]*)(\/.*)?$/.exec(new URL(request.url).pathname);
    if (!match) return Response.json({ apps: this.apps() });
    const [app] = this.sql<{ source: string; version: number }>`SELECT source, version FROM apps WHERE name = ${match[1]!}`;
    if (!app) return new Response(`No app ${match[1]}`, { status: 404 });
    // Same id ⇒ same code: a new version gets a new id, so a redeploy is picked up at once.
    const worker = this.env.LOADER.get(`${this.name}/${match[1]}@${app.version}`, () => ({
      mainModule: "app.js",
      modules: { "app.js": app.source },
      env: { store: this.#store() },
      globalOutbound: null,
      limits: { cpuMs: 50, memoryBytes: 16 * 1024 * 1024 },
    }));
    try {
      return await worker.getEntrypoint().fetch(request);
    } catch (error) {
      const { name, message } = error as Error;
      return Response.json({ error: { name, message } }, { status: 500 });
    }
  }

  /** The only capability an app gets: this customer's key-value data, strings only. */
  #store() {
    return {
      get: async (key: unknown) => {
        const [row] = this.sql<{ value: string }>`SELECT value FROM data WHERE key = ${String(key)}`;
        return row?.value ?? null;
      },
      put: async (key: unknown, value: unknown) => {
        if (typeof key !== "string" || typeof value !== "string" || value.length > 64 * 1024) {
          throw new TypeError("store.put(key, value) takes two strings, the value at most 64 KiB");
        }
        this.sql`INSERT INTO data (key, value) VALUES (${key}, ${value}) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
        return true;
      },
    };
  }
}

export default {
  fetch: async (req: Request, env: Env) =>
    (await routeAgentRequest(req, env as unknown as Record<string, unknown>)) ?? new Response("Not found", { status: 404 }),
};
