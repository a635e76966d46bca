import { Agent, callable, routeAgentEmail, routeAgentRequest } from "hearth";
import {
  createAddressBasedEmailResolver,
  createSecureReplyEmailResolver,
  isAutoReplyEmail,
  type AgentEmail,
  type ForwardableEmailMessage,
} from "hearth/email";
import PostalMime from "postal-mime";

type Env = {
  EMAIL_SECRET: string;
  /** The desks that take mail, comma-separated (default: support). */
  HELP_DESKS?: string;
};

interface Ticket {
  sender: string;
  subject: string;
  body: string;
  at: string;
}

/**
 * One help desk per listed address: mail to `support@…` reaches `/agents/help-desk/support`. Each message
 * becomes a ticket in the desk's SQLite and gets a signed acknowledgement, so an answer to that
 * acknowledgement comes back to the same desk whatever address it is sent to.
 *
 * A mail server sends a message again when its delivery failed (SMTP 451: here, when the
 * acknowledgement could not be sent) or when it never heard the answer. The ticket is stored before
 * the acknowledgement goes out, and that wait on the network commits it: a failure afterwards does
 * not undo it. So tickets are keyed by the message (its Message-ID, else a digest of its bytes): the
 * message sent again finds its ticket, and is acknowledged only if it was not yet.
 */
export class HelpDesk extends Agent<Env> {
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS tickets
      (sender TEXT, subject TEXT, body TEXT, at TEXT, message_key TEXT, acknowledged INTEGER NOT NULL DEFAULT 0)`;
    // A desk from before tickets were keyed by their message gets the two columns.
    if (this.sql`SELECT 1 FROM pragma_table_info('tickets') WHERE name = 'message_key'`.length === 0) {
      this.sql`ALTER TABLE tickets ADD COLUMN message_key TEXT`;
      this.sql`ALTER TABLE tickets ADD COLUMN acknowledged INTEGER NOT NULL DEFAULT 0`;
    }
    this.sql`CREATE UNIQUE INDEX IF NOT EXISTS tickets_by_message ON tickets (message_key)`;
  }

  async onEmail(email: AgentEmail) {
    const raw = await email.getRaw();
    const parsed = await PostalMime.parse(raw);
    const key = await messageKey(email.headers.get("message-id"), raw);
    this.sql`INSERT INTO tickets (sender, subject, body, at, message_key)
      VALUES (${email.from}, ${parsed.subject ?? ""}, ${parsed.text ?? ""}, ${new Date().toISOString()}, ${key})
      ON CONFLICT (message_key) DO NOTHING`;
    // Answering an out-of-office would start a mail loop.
    if (isAutoReplyEmail(parsed.headers, parsed.subject)) return;
    const [ticket] = this.sql<{ acknowledged: number }>`SELECT acknowledged FROM tickets WHERE message_key = ${key}`;
    if (ticket?.acknowledged) return; // the mail server did not hear our 250 and sent it again
    await this.replyToEmail(email, {
      fromName: "Help desk",
      body: `We have your message "${parsed.subject ?? "(no subject)"}" and will answer soon.`,
      secret: this.env.EMAIL_SECRET,
    });
    this.sql`UPDATE tickets SET acknowledged = 1 WHERE message_key = ${key}`;
  }

  @callable() tickets(): Ticket[] {
    return this.sql<Ticket>`SELECT sender, subject, body, at FROM tickets ORDER BY at, rowid`;
  }

  onRequest() {
    return Response.json(this.tickets());
  }
}

/** What recognises a message sent again: its Message-ID, else a digest of its bytes. */
async function messageKey(messageId: string | null, raw: Uint8Array): Promise<string> {
  if (messageId?.trim()) return `id:${messageId.trim()}`;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(raw)));
  return `sha256:${Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

export default {
  async email(message: ForwardableEmailMessage, env: Env) {
    const replies = createSecureReplyEmailResolver(env.EMAIL_SECRET);
    const byAddress = createAddressBasedEmailResolver("HelpDesk");
    // Each desk is a SQLite file: only the listed ones take mail, so random addresses create nothing.
    const desks = new Set((env.HELP_DESKS ?? "support").split(",").map((desk) => desk.trim().toLowerCase()).filter(Boolean));
    await routeAgentEmail(message, env, {
      resolver: async (m, e) => {
        const signed = await replies(m, e);
        if (signed) return signed;
        const route = await byAddress(m, e);
        // Support@ and support@ are one mailbox: one desk, not two instances.
        const desk = route?.agentId.toLowerCase();
        return route && desk && desks.has(desk) ? { ...route, agentId: desk } : null;
      },
      onNoRoute: (m) => m.setReject("Unknown recipient"),
    });
  },
  fetch: async (request: Request, env: Env) =>
    (await routeAgentRequest(request, env)) ?? new Response("Not found", { status: 404 }),
};
