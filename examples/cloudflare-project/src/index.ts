import { Agent, callable, routeAgentRequest } from "agents";
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import { NonRetryableError } from "cloudflare:workflows";

/** One notebook per name: notes in D1, the latest in KV, every write rate-limited and announced on a queue. */
export class Notebook extends Agent<Env, { notes: number }> {
  initialState = { notes: 0 };

  @callable()
  async addNote(text: string): Promise<number> {
    if (text.length > this.env.LIMITS.maxNoteLength) throw new Error(`A note has at most ${this.env.LIMITS.maxNoteLength} characters`);
    const { success } = await this.env.WRITE_LIMIT.limit({ key: this.name });
    if (!success) throw new Error("Too many notes: wait a minute");
    await this.env.DB.prepare("INSERT INTO notes (notebook, text, created_at) VALUES (?, ?, ?)")
      .bind(this.name, text, Date.now())
      .run();
    await this.env.CACHE.put(`last:${this.name}`, text, { metadata: { at: Date.now() } });
    await this.env.EVENTS.send({ notebook: this.name, text });
    this.setState({ notes: this.state.notes + 1 });
    return this.state.notes;
  }

  @callable()
  async list(): Promise<string[]> {
    const { results } = await this.env.DB.prepare("SELECT text FROM notes WHERE notebook = ? ORDER BY id")
      .bind(this.name)
      .all<{ text: string }>();
    return results.map((row) => row.text);
  }
}

/** Counts a notebook's notes and keeps the figure in KV. */
export class Digest extends WorkflowEntrypoint<Env, { notebook: string }> {
  async run(event: WorkflowEvent<{ notebook: string }>, step: WorkflowStep) {
    const { notebook } = event.payload;
    if (!notebook) throw new NonRetryableError("notebook is required");
    const count = await step.do("count notes", async () => {
      return (await this.env.DB.prepare("SELECT count(*) AS n FROM notes WHERE notebook = ?").bind(notebook).first<number>("n")) ?? 0;
    });
    await step.do("store digest", async () => {
      await this.env.CACHE.put(`digest:${notebook}`, String(count));
    });
    return { notebook, count };
  }
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/api/config":
        return Response.json({ greeting: env.GREETING, stage: env.STAGE, limits: env.LIMITS, hasToken: env.API_TOKEN.length > 0 });
      case "/api/last": {
        const { value, metadata } = await env.CACHE.getWithMetadata(`last:${url.searchParams.get("notebook")}`);
        return Response.json({ value, metadata });
      }
      case "/api/events": {
        const { keys } = await env.CACHE.list({ prefix: "event:" });
        const events = await Promise.all(keys.map((key) => env.CACHE.get(key.name, "json")));
        return Response.json(events);
      }
      case "/api/cron":
        return Response.json(await env.CACHE.get("cron:last", "json"));
      case "/api/digest": {
        const instance = await env.DIGEST.create({ params: { notebook: url.searchParams.get("notebook") ?? "" } });
        return Response.json({ id: instance.id });
      }
      case "/api/digest/status": {
        const instance = await env.DIGEST.get(url.searchParams.get("id") ?? "");
        return Response.json(await instance.status());
      }
      case "/api/sandbox": {
        const worker = env.LOADER.get("hello-v1", () => ({
          compatibilityDate: "2026-11-01",
          mainModule: "index.js",
          modules: { "index.js": "export default { fetch() { return new Response('hello from a dynamic worker'); } };" },
        }));
        return worker.getEntrypoint().fetch(request);
      }
      case "/api/shell":
        // The SPA shell, read through the assets binding.
        return env.ASSETS.fetch(new URL("/index.html", request.url));
    }
    ctx.waitUntil(Promise.resolve());
    return (await routeAgentRequest(request, env)) ?? new Response("Not found", { status: 404 });
  },

  /** Every note event lands in KV, one key per message. */
  async queue(batch, env): Promise<void> {
    for (const message of batch.messages) {
      await env.CACHE.put(`event:${message.id}`, JSON.stringify({ ...message.body, attempts: message.attempts }));
      message.ack();
    }
  },

  /** The cron trigger records its last run. */
  async scheduled(controller, env, ctx): Promise<void> {
    ctx.waitUntil(env.CACHE.put("cron:last", JSON.stringify({ cron: controller.cron, scheduledTime: controller.scheduledTime })));
  },
} satisfies ExportedHandler<Env, NoteEvent>;
