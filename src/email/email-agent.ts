import { AGENT_RUNTIME, REPORT_ERROR } from "../agent/agent-base.ts";
import { currentScope, runInAgentScope } from "../agent/context.ts";
import { FiberAgent } from "../fiber/fiber-agent.ts";
import { replyToEmail, sendAgentEmail } from "./agent-email.ts";
import { agentEmailFrom, type AgentEmailPayload } from "./bridge.ts";
import { emailReceived, emailReplied, emailSent, emitAgentEvent } from "../events/index.ts";
import type { AgentEmail, EmailSendResult, ReplyToEmailOptions, SendEmailOptions } from "./types.ts";

/** The email layer of {@link Agent}: mail routed here by `routeAgentEmail`, replies and new mail over SMTP. */
export class EmailAgent<Env = unknown, State = unknown> extends FiberAgent<Env, State> {
  /**
   * Receives an email that `routeAgentEmail` routed to this agent. Override it; the default logs
   * and drops the message. Runs like any event: its writes commit together, and if it throws they
   * are rolled back and the sender is asked to retry (SMTP 451).
   * @example
   * async onEmail(email: AgentEmail) {
   *   const parsed = await PostalMime.parse(await email.getRaw());
   *   this.sql`INSERT INTO inbox (sender, subject) VALUES (${email.from}, ${parsed.subject ?? ""})`;
   * }
   */
  onEmail(email: AgentEmail): void | Promise<void> {
    console.warn(`[hearth] ${this[AGENT_RUNTIME].className}/${this.name} has no onEmail; the email from ${email.from} is dropped`);
  }

  /** @internal routeAgentEmail delivers here: plain data, the message itself stays with the router. */
  async _onEmail(payload: AgentEmailPayload): Promise<void> {
    const email = agentEmailFrom(payload);
    const runtime = this[AGENT_RUNTIME];
    const { className, name } = runtime;
    const caller = currentScope()?.caller;
    try {
      // getCurrentAgent().email is this email while onEmail (and what it calls) runs.
      emitAgentEvent(this, "email:receive", () => emailReceived(email));
      await runInAgentScope({ agent: this, runtime, className, name, email, ...(caller ? { caller } : {}) }, () => this.onEmail(email));
    } catch (error) {
      this[REPORT_ERROR](error);
      throw error;
    }
  }

  /**
   * Replies to `email`'s sender from the address it was sent to, threaded, with this agent's
   * routing headers (signed with `secret`, so `createSecureReplyEmailResolver` routes the answer
   * back here). Delivered through the inbound message's `reply`: the outbound SMTP server.
   * @example
   * await this.replyToEmail(email, { fromName: "Support", body: "Thanks!", secret: this.env.EMAIL_SECRET });
   */
  async replyToEmail(email: AgentEmail, options: ReplyToEmailOptions): Promise<void> {
    await replyToEmail({ agentName: this[AGENT_RUNTIME].classSlug, agentId: this.name }, email, options);
    emitAgentEvent(this, "email:reply", () => emailReplied(email, options.subject));
  }

  /**
   * Sends a new email with this agent's routing headers (signed when `secret` is given), through
   * `options.binding` (Cloudflare style: `this.env.EMAIL`), else `env.EMAIL`, else `HEARTH_SMTP_URL`.
   * @example
   * await this.sendEmail({ binding: this.env.EMAIL, to: "ada@example.com", from: "bot@example.com", subject: "Hi", text: "Hello" });
   */
  async sendEmail(options: SendEmailOptions): Promise<EmailSendResult> {
    const identity = { agentName: this[AGENT_RUNTIME].classSlug, agentId: this.name };
    const result = await sendAgentEmail(identity, this.env as Record<string, unknown>, options);
    emitAgentEvent(this, "email:send", () => emailSent(options));
    return result;
  }
}
