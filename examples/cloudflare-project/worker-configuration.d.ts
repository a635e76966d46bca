// What `wrangler types` generates for this project (abridged). Types of the bindings come from
// @cloudflare/workers-types, as in any Workers project.
interface Env {
  Notebook: DurableObjectNamespace<import("./src/index").Notebook>;
  DIGEST: Workflow;
  CACHE: KVNamespace;
  DB: D1Database;
  WRITE_LIMIT: RateLimit;
  EVENTS: Queue<NoteEvent>;
  LOADER: WorkerLoader;
  ASSETS: Fetcher;
  GREETING: string;
  STAGE: string;
  LIMITS: { maxNoteLength: number };
  API_TOKEN: string;
}

interface NoteEvent {
  notebook: string;
  text: string;
}
