import { Agent, type Connection, type ConnectionContext } from "hearth";

type Env = Record<string, unknown>;

/** One chat message, as stored and as sent to clients. */
export interface ChatMessage {
  id: number;
  nick: string;
  text: string;
  /** Milliseconds since the epoch. */
  at: number;
}

/** Frames a browser sends. */
type ClientFrame = { type: "say"; text: string } | { type: "nick"; nick: string };

/** Frames the room sends. Protocol frames of the runtime itself (RPC, state) travel alongside. */
export type RoomFrame =
  | { type: "history"; messages: ChatMessage[] }
  | { type: "message"; message: ChatMessage }
  | { type: "presence"; nicks: string[] }
  | { type: "error"; error: string };

/** What each connection remembers about its user (kept across hibernation). */
interface Member {
  nick: string;
}

const MAX_TEXT = 2_000;
const HISTORY = 50;

/**
 * A chat room per name: `/agents/chat-room/<room>`. Messages live in the room's own SQLite table;
 * a new connection gets the recent history, and every message is broadcast to everyone in the room.
 */
export class ChatRoom extends Agent<Env> {
  /** Methods clients may call over RPC, listed instead of decorated (works without a transpiler). */
  static callables = ["history"];

  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS messages (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      nick TEXT NOT NULL,
      text TEXT NOT NULL,
      at INTEGER NOT NULL
    )`;
  }

  /** The most recent messages, oldest first. */
  history(limit = HISTORY): ChatMessage[] {
    const n = Math.max(1, Math.min(Number(limit) || HISTORY, 500));
    const rows = this.sql<ChatMessage>`SELECT id, nick, text, at FROM messages ORDER BY id DESC LIMIT ${n}`;
    return rows.reverse();
  }

  onConnect(connection: Connection, { request }: ConnectionContext) {
    const asked = new URL(request.url).searchParams.get("nick");
    connection.setState({ nick: cleanNick(asked) ?? `guest-${connection.id.slice(0, 4)}` });
    send(connection, { type: "history", messages: this.history() });
    this.announcePresence();
  }

  onMessage(connection: Connection, message: string | ArrayBuffer) {
    if (typeof message !== "string") return;
    let frame: ClientFrame;
    try {
      frame = JSON.parse(message) as ClientFrame;
    } catch {
      return send(connection, { type: "error", error: "Send JSON frames." });
    }
    if (frame.type === "say") {
      const posted = this.post(memberOf(connection)?.nick ?? "guest", frame.text);
      if (posted === undefined) send(connection, { type: "error", error: "Empty message." });
    } else if (frame.type === "nick") {
      const nick = cleanNick(frame.nick);
      if (nick === undefined) return send(connection, { type: "error", error: "Invalid nickname." });
      connection.setState({ nick });
      this.announcePresence();
    }
  }

  onClose(connection: Connection) {
    this.announcePresence(connection.id);
  }

  /** `GET` returns the history as JSON; `POST {"nick","text"}` posts a message (handy with curl). */
  async onRequest(request: Request) {
    if (request.method === "GET") return Response.json(this.history());
    if (request.method !== "POST") return new Response("Method not allowed", { status: 405 });
    let body: { nick?: unknown; text?: unknown };
    try {
      body = (await request.json()) as typeof body;
    } catch {
      return new Response('Expected JSON: {"nick": "...", "text": "..."}', { status: 400 });
    }
    const message = this.post(cleanNick(body.nick) ?? "curl", body.text);
    if (message === undefined) return new Response("Empty message", { status: 400 });
    return Response.json(message, { status: 201 });
  }

  /** Stores a message and sends it to everyone; undefined when the text is empty. */
  private post(nick: string, text: unknown): ChatMessage | undefined {
    if (typeof text !== "string" || text.trim() === "") return undefined;
    const at = Date.now();
    const [message] = this.sql<ChatMessage>`INSERT INTO messages (nick, text, at)
      VALUES (${nick}, ${text.trim().slice(0, MAX_TEXT)}, ${at}) RETURNING id, nick, text, at`;
    if (message === undefined) return undefined;
    this.broadcast(JSON.stringify({ type: "message", message } satisfies RoomFrame));
    return message;
  }

  private announcePresence(leavingId?: string) {
    const nicks: string[] = [];
    for (const connection of this.getConnections()) {
      const member = memberOf(connection);
      if (connection.id !== leavingId && member) nicks.push(member.nick);
    }
    this.broadcast(JSON.stringify({ type: "presence", nicks: nicks.sort() } satisfies RoomFrame), leavingId ? [leavingId] : []);
  }
}

function send(connection: Connection, frame: RoomFrame): void {
  connection.send(JSON.stringify(frame));
}

/** The member a connection belongs to, set in onConnect. */
function memberOf(connection: Connection): Member | null {
  return connection.state as Member | null;
}

function cleanNick(raw: unknown): string | undefined {
  if (typeof raw !== "string") return undefined;
  const nick = raw.trim().slice(0, 32);
  return nick === "" ? undefined : nick;
}
