/**
 * Child program of test/facets/loaded-crash.test.ts: an operator Durable Object whose facets run
 * customer code loaded at run time, served from source on a data directory the test kills (SIGKILL)
 * and restarts it on.
 *
 *   node --import tsx loaded-crash-child.ts <dataDir>
 *
 * Prints `READY <url>`. Routes: POST /journals/<name>/append?id=X (answers "ok" once the facet's
 * write is committed), GET /journals/<name>/report (the ids the facet holds).
 */
import { DurableObject, Host, serve, type DurableObjectNamespace } from "../../src/index.ts";
import { workerPoolEngine, type WorkerLoader } from "../../src/sandbox/index.ts";

const [dataDir] = process.argv.slice(2);
if (!dataDir) throw new Error("usage: loaded-crash-child.ts <dataDir>");

const JOURNAL = `
import { DurableObject } from "cloudflare:workers";
export class Journal extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS log (id TEXT PRIMARY KEY)");
  }
  async append(id) {
    this.ctx.storage.sql.exec("INSERT INTO log VALUES (?)", id);
    await this.ctx.storage.put("last", id);
    return "ok";
  }
  report() {
    return this.ctx.storage.sql.exec("SELECT id FROM log").toArray().map((row) => row.id);
  }
}
`;

type Journal = { append(id: string): Promise<string>; report(): Promise<string[]> };

export class Operator extends DurableObject<{ LOADER: WorkerLoader }> {
  #journal(name: string): Journal {
    return this.ctx.facets.get(name, () => ({
      class: this.env.LOADER.get("journal-v1", () => ({ mainModule: "journal.js", modules: { "journal.js": JOURNAL } })).getDurableObjectClass("Journal"),
      id: name,
    })) as unknown as Journal;
  }

  append(name: string, id: string): Promise<string> {
    return this.#journal(name).append(id);
  }

  report(name: string): Promise<string[]> {
    return this.#journal(name).report();
  }
}

const host = new Host({ dataDir, agents: {}, durableObjects: { OPERATORS: Operator } });
const server = await serve({
  host,
  port: 0,
  fetch: async (request, env) => {
    const url = new URL(request.url);
    const [, , name = "", action] = url.pathname.split("/");
    const operator = (env.OPERATORS as DurableObjectNamespace<Operator>).getByName("operator");
    if (action === "append" && request.method === "POST") return new Response(await operator.append(name, url.searchParams.get("id") ?? ""));
    if (action === "report") return Response.json(await operator.report(name));
    return new Response("not found", { status: 404 });
  },
});

process.once("SIGTERM", () => {
  void server
    .close()
    .then(() => host.close())
    .then(() => process.exit(0));
});
// The kill windows of the test are about the facets' writes, not the first sandbox's worker start
// (up to 2 s from TypeScript sources on a loaded machine): have the workers ready first.
await workerPoolEngine().prestart();
process.stdout.write(`READY ${server.url}\n`);
