/**
 * A real host with a fixture agent and workflow, an inspector on loopback in front of it, and a raw
 * HTTP client (node:http, so tests can send any Host and Origin header).
 */
import { request as httpRequest } from "node:http";
import { Agent, callable, type Connection, type StreamingResponse } from "../../src/index.ts";
import { startInspector, type InspectorHandle, type InspectorOptions } from "../../src/inspector/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "../../src/workflow/index.ts";

export interface NotebookState {
  count: number;
  title: string;
}

export class Notebook extends Agent<unknown, NotebookState> {
  override initialState: NotebookState = { count: 0, title: "new" };
  ticks: unknown[] = [];

  override onStart(): void {
    this.sql`CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, data BLOB)`;
  }

  override validateStateChange(next: NotebookState): void {
    if (typeof next?.count !== "number" || next.count < 0) throw new Error("count must be a number of at least 0");
  }

  override onMessage(connection: Connection, message: string | ArrayBuffer): void {
    connection.send(`echo:${String(message)}`);
  }

  @callable({ description: "Adds to the count" })
  add(by: number): number {
    this.setState({ ...this.state, count: this.state.count + by });
    return this.state.count;
  }

  @callable({ streaming: true })
  async countdown(stream: StreamingResponse, from: number): Promise<void> {
    for (let i = from; i > 0; i--) stream.send(i);
    stream.end(0);
  }

  @callable()
  fail(): never {
    throw new Error("on purpose");
  }

  @callable()
  async note(body: string): Promise<void> {
    this.sql`INSERT INTO notes (body, data) VALUES (${body}, ${new Uint8Array([1, 2, 3])})`;
  }

  @callable()
  async plan(): Promise<{ once: string; cron: string }> {
    const once = await this.schedule(3600, "tick", { kind: "once" });
    const cron = await this.schedule("0 * * * *", "tick", { kind: "cron" });
    await this.queue("tick", { kind: "queued" });
    return { once: once.id, cron: cron.id };
  }

  /** A queued task that fails and waits an hour before its retry: it stays in the queue. */
  @callable()
  async queueFailing(): Promise<string> {
    return this.queue("boom", { kind: "queued" }, { retry: { maxAttempts: 3, baseDelayMs: 3_600_000, maxDelayMs: 3_600_000 } });
  }

  boom(): void {
    throw new Error("queued work fails on purpose");
  }

  /** A schedule an hour away whose callback throws (for "run now"). */
  @callable()
  async planFailing(): Promise<string> {
    return (await this.schedule(3600, "boom", { kind: "once" })).id;
  }

  override onError(): void {}

  @callable()
  ticked(): unknown[] {
    return this.sql<{ payload: string }>`SELECT payload FROM ticks ORDER BY rowid`.map((row) => JSON.parse(row.payload) as unknown);
  }

  async tick(payload: unknown): Promise<void> {
    this.sql`CREATE TABLE IF NOT EXISTS ticks (payload TEXT)`;
    this.sql`INSERT INTO ticks (payload) VALUES (${JSON.stringify(payload)})`;
  }
}

export class Approval extends WorkflowEntrypoint<unknown, { doc: string }> {
  async run(event: WorkflowEvent<{ doc: string }>, step: WorkflowStep): Promise<string> {
    const checked = await step.do("check", async () => `checked ${event.payload.doc}`);
    // The step's name and the event type it waits for differ: the inspector must tell them apart.
    const answer = await step.waitForEvent<{ ok: boolean }>("review", { type: "answer", timeout: "1 day" });
    return `${checked}: ${answer.payload.ok ? "approved" : "refused"}`;
  }
}

export interface Fixture {
  t: TestEnv;
  inspector: InspectorHandle;
  /** A request to the inspector with the viewer token (or `as: "admin"`, or `as: null` for none). */
  api(path: string, init?: RawInit & { as?: "viewer" | "admin" | null }): Promise<RawResponse>;
  close(): Promise<void>;
}

export interface RawInit {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** One HTTP request with node:http: any header may be set (Host included). */
export function raw(url: string, init: RawInit = {}): Promise<RawResponse> {
  const body = init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? "GET", headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...init.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Starts a test environment and an inspector; `options` may be made from the environment (stores that need its host). */
export async function startFixture(options: Partial<InspectorOptions> | ((t: TestEnv) => Partial<InspectorOptions>) = {}): Promise<Fixture> {
  const t = await createTestEnv({ agents: { Notebook }, workflows: { Approval } });
  let inspector: InspectorHandle;
  try {
    inspector = await startInspector({ host: t.host, env: {}, ...(typeof options === "function" ? options(t) : options) });
  } catch (error) {
    await t.close();
    throw error;
  }
  return {
    t,
    inspector,
    api(path, init = {}) {
      const as = init.as === undefined ? "viewer" : init.as;
      const token = as === "admin" ? inspector.adminToken : as === "viewer" ? inspector.token : undefined;
      return raw(new URL(path, inspector.url).toString(), { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers } });
    },
    async close() {
      await inspector.close();
      await t.close();
    },
  };
}

/** Waits until `check` returns a value other than undefined (bounded). */
export async function until<T>(check: () => T | undefined | Promise<T | undefined>, what: string, tries = 500): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`Timed out waiting for ${what}`);
}
