/**
 * The entry each node process of the cluster benchmarks serves (`hearth start --cluster … cluster-app.ts`):
 * a counter whose POST does one setState and one INSERT (the suite's request shape), with a table that
 * has a primary key, as replication requires (docs/cluster/replication.md).
 */
import { Agent } from "../../dist/index.js";

export class ClusterCounter extends Agent<unknown, { count: number }> {
  override initialState = { count: 0 };

  override onStart(): void {
    this.sql`CREATE TABLE IF NOT EXISTS hits (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, at INTEGER NOT NULL)`;
  }

  override onRequest(request: Request): Response {
    if (request.method !== "POST") return Response.json({ count: this.state.count });
    const count = this.state.count + 1;
    this.setState({ count });
    this.sql`INSERT INTO hits (n, at) VALUES (${count}, ${Date.now()})`;
    return Response.json({ count });
  }
}
