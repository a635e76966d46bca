/**
 * The Worker of bench/workerd-compare.ts, written as an Agents SDK user writes one: it imports the
 * real `agents` package and nothing from Hearth. The same file runs on both runtimes: `hearth start`
 * loads it through its module map (`agents` → Hearth); for workerd it is bundled with the real SDK
 * (bench/lib/sdk-agent-bundle.ts).
 *
 * Counter: POST → setState({ count: n + 1 }) + one SQL INSERT; GET reads the state's count and the
 * number of stored rows (a read, so a wake measured with GET costs no write; after any load the two
 * must agree). RPC over the SDK's WebSocket frames: `ping` (touches
 * nothing), `increment` (the POST's writes; setState also broadcasts the state to every socket).
 */
import { Agent, callable, routeAgentRequest } from "agents";

interface CounterState {
  count: number;
}

export class Counter extends Agent<Record<string, unknown>, CounterState> {
  override initialState: CounterState = { count: 0 };

  override onStart(): void {
    this.sql`CREATE TABLE IF NOT EXISTS hits (n INTEGER NOT NULL, at INTEGER NOT NULL)`;
  }

  override onRequest(request: Request): Response {
    if (request.method === "POST") return Response.json({ count: this.#bump(1) });
    return Response.json(this.totals());
  }

  @callable()
  increment(by: number): number {
    return this.#bump(by);
  }

  @callable()
  ping(): boolean {
    return true;
  }

  /** State count against stored rows: the two must agree after any load. */
  @callable()
  totals(): { count: number; rows: number } {
    const [row] = this.sql<{ rows: number }>`SELECT count(*) AS rows FROM hits`;
    return { count: this.state.count, rows: Number(row?.rows ?? 0) };
  }

  #bump(by: number): number {
    const count = this.state.count + by;
    this.setState({ count });
    this.sql`INSERT INTO hits (n, at) VALUES (${count}, ${Date.now()})`;
    return count;
  }
}

export default {
  async fetch(request: Request, env: Record<string, unknown>): Promise<Response> {
    if (new URL(request.url).pathname === "/health") return new Response("ok");
    return (await routeAgentRequest(request, env)) ?? new Response("Not found", { status: 404 });
  },
};
