import PostalMime from "postal-mime";
import { Agent } from "../../src/index.ts";
import {
  createAddressBasedEmailResolver,
  createSecureReplyEmailResolver,
  routeAgentEmail,
  type AgentEmail,
  type ForwardableEmailMessage,
  type SignatureFailureReason,
} from "../../src/email/index.ts";

type Env = { EMAIL_SECRET: string };

export interface StoredMail {
  sender: string;
  recipient: string;
  subject: string;
  body: string;
  secure: number;
}

/** An agent that keeps every email in its SQLite and answers some of them. */
export class Inbox extends Agent<Env> {
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS inbox (sender TEXT, recipient TEXT, subject TEXT, body TEXT, secure INTEGER)`;
  }

  async onEmail(email: AgentEmail) {
    const parsed = await PostalMime.parse(await email.getRaw());
    const subject = parsed.subject ?? "";
    this.sql`INSERT INTO inbox VALUES (${email.from}, ${email.to}, ${subject}, ${(parsed.text ?? "").trim()}, ${email._secureRouted ? 1 : 0})`;
    if (subject.includes("fail")) throw new Error("onEmail failed on purpose");
    if (subject.includes("unsigned reply")) await this.replyToEmail(email, { fromName: "Inbox", body: "no secret given" });
    else if (subject.includes("reply")) {
      await this.replyToEmail(email, { fromName: "Inbox Agent", body: `We got: ${subject}`, secret: this.env.EMAIL_SECRET });
    }
  }

  messages(): StoredMail[] {
    return this.sql<StoredMail>`SELECT * FROM inbox ORDER BY rowid`;
  }
}

/** Signature refusals seen by the secure resolver, for assertions. */
export const refusals: SignatureFailureReason[] = [];

/** The worker's email export: signed replies first, then the recipient address. */
export async function email(message: ForwardableEmailMessage, env: Record<string, unknown>): Promise<void> {
  if (message.to.startsWith("blocked@")) {
    message.setReject("Blocked by policy");
    return;
  }
  if (message.to.startsWith("fwd@")) {
    const headers = new Headers({ "X-Forwarded-By": "hearth-test" });
    await message.forward("archive@example.net", headers);
    return;
  }
  const secure = createSecureReplyEmailResolver(env.EMAIL_SECRET as string, { onInvalidSignature: (_m, reason) => refusals.push(reason) });
  const byAddress = createAddressBasedEmailResolver("Inbox");
  await routeAgentEmail(message, env, {
    resolver: async (m, e) => (await secure(m, e)) ?? byAddress(m, e),
    onNoRoute: (m) => m.setReject("Unknown recipient"),
  });
}
