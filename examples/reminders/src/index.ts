import { Agent, callable, routeAgentRequest, type Schedule } from "hearth";

type Env = Record<string, unknown>;

interface Reminder {
  text: string;
}

/** The furthest ahead a reminder may be set, in seconds (a year). */
const MAX_DELAY_SECONDS = 365 * 24 * 60 * 60;
/** The longest reminder text, in characters. */
const MAX_TEXT_CHARS = 1_000;

/** A reminder asked for with a time or a text that cannot be used; the HTTP API answers it with 400. */
export class BadReminder extends RangeError {
  override name = "BadReminder";
}

/** When a reminder is due: `when` seconds from now, or the ISO date `when`. Throws BadReminder otherwise. */
function dueAt(when: unknown): number | Date {
  if (typeof when === "number") {
    if (Number.isFinite(when) && when >= 0 && when <= MAX_DELAY_SECONDS) return when;
    throw new BadReminder(`A delay is a number of seconds from 0 to ${MAX_DELAY_SECONDS} (a year); got ${when}`);
  }
  const date = typeof when === "string" ? new Date(when) : undefined;
  if (date !== undefined && !Number.isNaN(date.getTime())) return date;
  throw new BadReminder(`A reminder's time is a number of seconds or an ISO date such as 2030-03-05T09:00:00Z; got ${JSON.stringify(when)}`);
}

function checkText(text: unknown): string {
  if (typeof text === "string" && text.trim() !== "" && text.length <= MAX_TEXT_CHARS) return text;
  throw new BadReminder(`A reminder's text is 1 to ${MAX_TEXT_CHARS} characters`);
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
    return this.schedule(dueAt(when), "deliver", { text: checkText(text) });
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
      const seconds = url.searchParams.get("in") ?? "60";
      try {
        // Number("") is 0 and Number("abc") NaN: only digits (a decimal point allowed) are a delay.
        if (!/^\s*\d+(\.\d+)?\s*$/.test(seconds)) throw new BadReminder(`in is a number of seconds, such as in=60; got ${JSON.stringify(seconds)}`);
        const schedule = await this.remind(Number(seconds), url.searchParams.get("text") ?? "ping");
        return Response.json({ id: schedule.id, at: new Date(schedule.dueAt).toISOString() });
      } catch (error) {
        if (error instanceof BadReminder) return Response.json({ error: error.message }, { status: 400 });
        throw error;
      }
    }
    return Response.json({ upcoming: await this.upcoming(), inbox: this.inbox() });
  }
}

export default {
  fetch: async (req: Request, env: Env) =>
    (await routeAgentRequest(req, env)) ?? new Response("Not found", { status: 404 }),
};
