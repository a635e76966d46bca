/** Agents and a workflow for the inspector UI tests. */
import { convertToModelMessages, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";
import { AIChatAgent, type ChatFinishCallback } from "../../../src/chat/index.ts";
import { Agent, type QueueItem } from "../../../src/index.ts";
import { fnMember, pipeline, team } from "../../../src/teams/index.ts";
import { scriptedModel, textStream, toolCallStream } from "../../chat/helpers.ts";
import { WorkflowEntrypoint } from "../../../src/workflow/entrypoint.ts";
import type { WorkflowEvent, WorkflowStep } from "../../../src/workflow/types.ts";

export interface NotesState {
  title: string;
  count: number;
}

/** A note-keeping agent: state with a validation rule, a table, a reminder schedule. */
export class Notes extends Agent<unknown, NotesState> {
  static callables = ["add", "plan", "explode", "noteInThread"];
  override initialState: NotesState = { title: "first", count: 0 };

  override validateStateChange(next: NotesState): void {
    if (typeof next.count !== "number") throw new Error("count must be a number");
  }

  override onStart(): void {
    this.sql`CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, tags TEXT)`;
  }

  /** Adds a note; returns how many there are. */
  add(body: string): number {
    this.sql`INSERT INTO notes (body, tags) VALUES (${body}, ${null})`;
    return this.count();
  }

  /** A reminder in an hour; returns its schedule id. */
  async plan(what: string): Promise<string> {
    const schedule = await this.schedule(3600, "remind", { what });
    return schedule.id;
  }

  /** A reminder's callback: notes what it was about. */
  remind(payload: { what: string }): void {
    this.sql`INSERT INTO notes (body, tags) VALUES (${`reminded: ${payload.what}`}, ${"reminder"})`;
  }

  /** Queues a reminder whose first attempt fails and whose retry is an hour away: it stays queued. */
  async queueFlaky(what: string): Promise<string> {
    return this.queue("flakyRemind", { what }, { retry: { maxAttempts: 3, baseDelayMs: 3_600_000, maxDelayMs: 3_600_000 } });
  }

  /** Fails its first attempt, then reminds as {@link remind} does. */
  flakyRemind(payload: { what: string }, item: QueueItem): void {
    if (item.attempts === 0) throw new Error(`the first try fails: ${payload.what}`);
    this.remind(payload);
  }

  /** Each queued item's failed attempts, in queue order. */
  queueAttempts(): number[] {
    return this.getQueues().map((item) => item.attempts);
  }

  reminders(): string[] {
    return this.sql<{ body: string }>`SELECT body FROM notes WHERE tags = 'reminder' ORDER BY id`.map((row) => row.body);
  }

  /** Writes `text` into the child thread `name` (created on first use); returns the thread's notes. */
  async noteInThread(name: string, text: string): Promise<string[]> {
    const thread = await this.subAgent(Thread, name);
    return thread.write(text);
  }

  /** Always fails: an error to follow to its trace. */
  explode(): never {
    throw new Error("the notes exploded");
  }

  count(): number {
    return this.sql<{ n: number }>`SELECT count(*) AS n FROM notes`[0]?.n ?? 0;
  }

  read(): NotesState {
    return this.state;
  }

  scheduleIds(): string[] {
    return this.getSchedules().map((s) => s.id);
  }
}

/** A sub-agent of {@link Notes}: a thread with its own notes. */
export class Thread extends Agent<unknown, { notes: string[] }> {
  override initialState = { notes: [] as string[] };

  write(text: string): string[] {
    this.setState({ notes: [...this.state.notes, text] });
    return this.state.notes;
  }
}

/** Drafts, waits for an approval event, then sends: a workflow the test moves step by step. */
export class Approval extends WorkflowEntrypoint<unknown, { to: string }> {
  async run(event: WorkflowEvent<{ to: string }>, step: WorkflowStep) {
    const draft = await step.do("draft", () => `hello ${event.payload?.to ?? "you"}`);
    const answer = await step.waitForEvent<{ ok: boolean }>("approval", { type: "approve", timeout: "1 day" });
    if (!answer.payload.ok) return "rejected";
    await step.do("send", () => `sent: ${draft}`);
    return { sent: draft };
  }
}

/** A help desk chat: looks an order up with a tool, then answers (a scripted model, no network). */
export class Helpdesk extends AIChatAgent {
  static callables = ["ask"];

  async onChatMessage(onFinish: ChatFinishCallback) {
    const result = streamText({
      model: scriptedModel(toolCallStream("call-1", "lookupOrder", { order: "A-17" }), textStream("Order A-17 ships tomorrow.")),
      messages: await convertToModelMessages(this.messages),
      tools: { lookupOrder: tool({ inputSchema: z.object({ order: z.string() }), execute: async ({ order }) => ({ order, status: "packed" }) }) },
      stopWhen: stepCountIs(3),
      onFinish,
    });
    return result.toUIMessageStreamResponse();
  }

  /** A user turn, answered before it resolves. */
  async ask(text: string): Promise<string> {
    const result = await this.saveMessages((messages) => [...messages, { id: `u${messages.length}`, role: "user", parts: [{ type: "text", text }] }]);
    return result.status;
  }
}

/** A review team: a writer drafts at once, the reviewer waits until the run is cancelled. */
export const reviewTeam = team(
  "review",
  pipeline(
    fnMember("writer", (input: unknown) => `draft of ${String(input)}`),
    fnMember("reviewer", (_draft: unknown, context) => new Promise<string>((_resolve, reject) => context.signal.addEventListener("abort", () => reject(new Error("aborted"))))),
  ),
);

/** An agent that owns team runs. */
export class Editor extends Agent {
  static callables = ["review"];

  /** Starts a review; returns the run id. */
  async review(topic: string): Promise<string> {
    return (await reviewTeam.start(this, topic)).id;
  }
}
