import { Agent, callable, routeAgentRequest, type Schedule } from "hearth";

type Env = Record<string, unknown>;

interface Reminder {
  text: string;
}

/**
 * One reminder board per name: `/agents/reminders/<name>`. Reminders are durable schedules in the
 * agent's own database: they fire after restarts, and a missed daily digest runs once on the way up.
 */
export class Reminders extends Agent<Env> {
  async onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS inbox (text TEXT NOT NULL, at TEXT NOT NULL)`;
    // Idempotent: however often the agent starts, there is one digest schedule.
    await this.schedule("0 8 * * *", "digest", undefined, { timezone: "Europe/Paris" });
  }

  /** Remind in `seconds`, or at an ISO date. */
  @callable() async remind(when: number | string, text: string): Promise<Schedule<Reminder>> {
    const at = typeof when === "number" ? when : new Date(when);
    return this.schedule(at, "deliver", { text });
  }

  @callable() async upcoming(): Promise<Array<{ id: string; text: string; at: string }>> {
    const schedules = await this.listSchedules<Reminder>({ type: "delayed" });
    const dated = await this.listSchedules<Reminder>({ type: "scheduled" });
    return [...schedules, ...dated]
      .sort((a, b) => a.dueAt - b.dueAt)
      .map((s) => ({ id: s.id, text: s.payload.text, at: new Date(s.dueAt).toISOString() }));
  }

  @callable() async cancel(id: string): Promise<boolean> {
    return this.cancelSchedule(id);
  }

  @callable() inbox(): Array<{ text: string; at: string }> {
    return this.sql<{ text: string; at: string }>`SELECT text, at FROM inbox ORDER BY rowid`;
  }

  /** Called by the schedule: keeps the reminder and tells every open client. */
  deliver(reminder: Reminder) {
    const at = new Date().toISOString();
    this.sql`INSERT INTO inbox VALUES (${reminder.text}, ${at})`;
    this.broadcast(JSON.stringify({ type: "reminder", text: reminder.text, at }));
  }

  /** Every morning at 8 (Paris): a summary of what is coming, through the durable queue. */
  async digest() {
    const count = (await this.upcoming()).length;
    await this.queue("deliver", { text: `Good morning: ${count} reminder(s) ahead` });
  }

  async onRequest(request: Request) {
    // POST /agents/reminders/<name>?in=60&text=stretch
    const url = new URL(request.url);
    if (request.method === "POST") {
      const schedule = await this.remind(Number(url.searchParams.get("in") ?? 60), url.searchParams.get("text") ?? "ping");
      return Response.json({ id: schedule.id, at: new Date(schedule.dueAt).toISOString() });
    }
    return Response.json({ upcoming: await this.upcoming(), inbox: this.inbox() });
  }
}

export default {
  fetch: async (req: Request, env: Env) =>
    (await routeAgentRequest(req, env)) ?? new Response("Not found", { status: 404 }),
};
