/**
 * The entry `hearth start` serves in bench/schedule-firing-threads.ts: `POST /agents/alarm/<name>`
 * with `[{ id, at }]` schedules `fire(id)` at each time (epoch ms); each run records its lateness in
 * the agent's own table, and `GET` answers them.
 */
import { Agent } from "../../dist/index.js";
import type { Schedule } from "../../dist/schedule/types.js";

export class Alarm extends Agent {
  onStart(): void {
    this.sql`CREATE TABLE IF NOT EXISTS fired (id INTEGER PRIMARY KEY, lateness REAL NOT NULL)`;
  }

  async onRequest(request: Request): Promise<Response> {
    if (request.method === "POST") {
      const slots = (await request.json()) as Array<{ id: number; at: number }>;
      for (const slot of slots) await this.schedule(new Date(slot.at), "fire", slot.id);
      return Response.json(slots.length);
    }
    return Response.json(this.sql<{ id: number; lateness: number }>`SELECT id, lateness FROM fired`);
  }

  fire(id: number, schedule: Schedule<number>): void {
    const lateness = performance.timeOrigin + performance.now() - schedule.dueAt;
    this.sql`INSERT INTO fired (id, lateness) VALUES (${id}, ${lateness})`;
  }
}
