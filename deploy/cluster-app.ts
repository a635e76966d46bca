import { Agent, callable, routeAgentRequest } from "hearth";

type Env = Record<string, unknown>;

/**
 * The app deploy/check-rolling.sh serves on every node: a counter whose only storage is its state,
 * so every commit is a changeset Postgres holds (a cluster needs a PRIMARY KEY on every table).
 */
export class Counter extends Agent<Env, { count: number }> {
  initialState = { count: 0 };

  async onRequest(_request: Request): Promise<Response> {
    this.setState({ count: this.state.count + 1 });
    return new Response(String(this.state.count));
  }

  @callable() increment(by: number): number {
    this.setState({ count: this.state.count + by });
    return this.state.count;
  }
}

export default {
  fetch: async (request: Request, env: Env): Promise<Response> =>
    (await routeAgentRequest(request, env)) ?? new Response("Not found", { status: 404 }),
};
