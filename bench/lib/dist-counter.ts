/**
 * The benchmarks' counter agent built on a given build's `Agent`: a class from another build (an
 * older commit's dist/, to compare against) cannot run on this one's host. A POST does one setState
 * and one INSERT; `ping()` touches nothing.
 */
type Dist = typeof import("../../dist/index.js");
type AgentClass = import("../../dist/host/host-options.js").AgentClass;

export function counterOn(dist: Dist): AgentClass {
  return class Counter extends dist.Agent<unknown, { count: number }> {
    static callables = ["ping"];
    override initialState = { count: 0 };
    override onStart(): void {
      this.sql`CREATE TABLE IF NOT EXISTS hits (n INTEGER NOT NULL, at INTEGER NOT NULL)`;
    }
    override onRequest(): Response {
      const count = this.state.count + 1;
      this.setState({ count });
      this.sql`INSERT INTO hits (n, at) VALUES (${count}, ${Date.now()})`;
      return Response.json({ count });
    }
    ping(): boolean {
      return true;
    }
  };
}
