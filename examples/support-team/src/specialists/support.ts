/**
 * `SupportSpecialist`: a sub-agent of each user's desk, with its own SQLite, where it keeps the
 * user's tickets. The team calls `fileTicket` once per step (the call is recorded with the ticket,
 * so a run resumed after a crash does not file it twice).
 */
import { Agent } from "hearth";
import type { Env } from "../env.ts";
import type { Exchange } from "../memory.ts";

/** What the support step gets. */
export interface TicketRequest {
  user: string;
  question: string;
  /** Earlier exchanges of the conversation (from team memory), oldest first. */
  history: Exchange[];
}

/** A filed ticket, as the next steps use it. */
export interface Ticket {
  id: number;
  severity: "CRITICAL" | "normal";
  /** One line for the answer: `Ticket #3 (CRITICAL) opened.` */
  headline: string;
  /** What the reply model is asked to answer. */
  brief: string;
}

/** Words that make a ticket CRITICAL: the service is down for people, or data is at risk. */
const CRITICAL = /\b(down|outage|data loss|breach|security incident)\b/i;

export class SupportSpecialist extends Agent<Env> {
  override onStart(): void {
    this.sql`CREATE TABLE IF NOT EXISTS tickets (id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, question TEXT NOT NULL, severity TEXT NOT NULL, opened_at INTEGER NOT NULL)`;
  }

  /** Opens a ticket for the question; CRITICAL when the service is down or data is at risk. */
  fileTicket(request: TicketRequest): Ticket {
    const severity = CRITICAL.test(request.question) ? "CRITICAL" : "normal";
    const [row] = this.sql<{ id: number }>`INSERT INTO tickets (user, question, severity, opened_at) VALUES (${request.user}, ${request.question}, ${severity}, ${Date.now()}) RETURNING id`;
    const id = Number(row!.id);
    const earlier = request.history.length > 0 ? `\nEarlier in this conversation: ${request.history.map((e) => `"${e.question}"`).join("; ")}.` : "";
    return {
      id,
      severity,
      headline: severity === "CRITICAL" ? `Ticket #${id} (CRITICAL) opened: the on-call team is alerted.` : `Ticket #${id} opened.`,
      brief: `A customer (${request.user}) wrote: "${request.question}"${earlier}\nTicket #${id}, severity ${severity}. Write them a short, kind reply.`,
    };
  }

  /** The tickets, newest first (for the page and the tests). */
  tickets(): Array<{ id: number; question: string; severity: string; openedAt: number }> {
    return this.sql<{ id: number; question: string; severity: string; opened_at: number }>`SELECT id, question, severity, opened_at FROM tickets ORDER BY id DESC LIMIT 50`.map(
      (row) => ({ id: Number(row.id), question: row.question, severity: row.severity, openedAt: Number(row.opened_at) }),
    );
  }
}
