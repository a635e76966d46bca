import { Agent, callable, routeAgentRequest } from "hearth";

type Env = Record<string, unknown>;

/** One counter per name: `/agents/counter/<name>`. Its count survives restarts. */
export class Counter extends Agent<Env, { count: number }> {
  initialState = { count: 0 };

  onStart() {
    // A declared primary key: every table needs one to run in a cluster (docs/cluster/README.md).
    this.sql`CREATE TABLE IF NOT EXISTS turns (id INTEGER PRIMARY KEY, content TEXT, at INTEGER)`;
  }

  async onRequest(_req: Request) {
    this.setState({ count: this.state.count + 1 });
    return new Response(String(this.state.count));
  }

  @callable() increment(by: number) {
    this.setState({ count: this.state.count + by });
    return this.state.count;
  }
}

export default {
  fetch: async (req: Request, env: Env) =>
    (await routeAgentRequest(req, env)) ?? new Response("Not found", { status: 404 }),
};
