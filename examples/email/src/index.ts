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
 */
export class HelpDesk extends Agent<Env> {
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS tickets (sender TEXT, subject TEXT, body TEXT, at TEXT)`;
  }

  async onEmail(email: AgentEmail) {
    const parsed = await PostalMime.parse(await email.getRaw());
    this.sql`INSERT INTO tickets VALUES (${email.from}, ${parsed.subject ?? ""}, ${parsed.text ?? ""}, ${new Date().toISOString()})`;
    // Answering an out-of-office would start a mail loop.
    if (isAutoReplyEmail(parsed.headers, parsed.subject)) return;
    await this.replyToEmail(email, {
      fromName: "Help desk",
      body: `We have your message "${parsed.subject ?? "(no subject)"}" and will answer soon.`,
      secret: this.env.EMAIL_SECRET,
    });
  }

  @callable() tickets(): Ticket[] {
    return this.sql<Ticket>`SELECT * FROM tickets ORDER BY at`;
  }

  onRequest() {
    return Response.json(this.tickets());
  }
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
        return route && desks.has(route.agentId.toLowerCase()) ? route : null;
      },
      onNoRoute: (m) => m.setReject("Unknown recipient"),
    });
  },
  fetch: async (request: Request, env: Env) =>
    (await routeAgentRequest(request, env)) ?? new Response("Not found", { status: 404 }),
};
