/**
 * `WriterSpecialist`: a sub-agent of each user's desk that researches writing requests. It keeps
 * the house style and every brief it prepared in its own SQLite, so a later request can build on an
 * earlier one.
 */
import { Agent } from "hearth";
import type { Env } from "../env.ts";
import type { Exchange } from "../memory.ts";

/** What the research step gets. */
export interface ResearchRequest {
  user: string;
  question: string;
  history: Exchange[];
}

const HOUSE_STYLE = ["Plain words, short sentences.", "Say what changes for the reader first.", "At most 120 words."];

export class WriterSpecialist extends Agent<Env> {
  override onStart(): void {
    this.sql`CREATE TABLE IF NOT EXISTS briefs (id INTEGER PRIMARY KEY AUTOINCREMENT, question TEXT NOT NULL, brief TEXT NOT NULL, at INTEGER NOT NULL)`;
  }

  /** The brief the drafts are written from: the request, the house style, the last related brief. */
  research(request: ResearchRequest): string {
    const [previous] = this.sql<{ question: string }>`SELECT question FROM briefs ORDER BY id DESC LIMIT 1`;
    const lines = [
      `Request: ${request.question}`,
      `Style: ${HOUSE_STYLE.join(" ")}`,
      ...(previous ? [`Earlier writing request: ${previous.question}`] : []),
      ...(request.history.length > 0 ? [`Conversation so far: ${request.history.map((e) => e.question).join(" | ")}`] : []),
    ];
    const brief = lines.join("\n");
    this.sql`INSERT INTO briefs (question, brief, at) VALUES (${request.question}, ${brief}, ${Date.now()})`;
    return brief;
  }
}
