import { agentsOnlyFetch, type WorkerFetch } from "../gateway/serve.ts";
import { SMTP_URL_VAR, smtpBindingFor } from "./outbound.ts";
import { startSmtpListener, type SmtpListener } from "./smtp-listener.ts";
import type { WorkerEmail } from "./types.ts";
import { EmailError } from "./errors.ts";
import { createMailWebhook, WEBHOOK_AUTH_VAR, WEBHOOK_PATH, WEBHOOK_SECRET_VAR, type MailWebhookAuth } from "./webhook.ts";

/** The variable that turns the SMTP listener on, like `--smtp-port`. */
export const SMTP_PORT_VAR = "HEARTH_SMTP_PORT";

export interface EmailServiceOptions {
  /** The host's env: gets `EMAIL` (an SMTP binding) when HEARTH_SMTP_URL is set, `bindEmail` allows it and the name is free. */
  env: Record<string, unknown>;
  /**
   * Whether to bind an unrestricted `env.EMAIL` over HEARTH_SMTP_URL (default true). Meant for an entry
   * served without a wrangler config, which has no way to declare a binding. Pass false for a wrangler
   * project: its env holds only the bindings its config declares (a `send_email` binding sends through
   * HEARTH_SMTP_URL itself, with its address restrictions). Replies and forwards of received mail use
   * HEARTH_SMTP_URL either way.
   */
  bindEmail?: boolean;
  /** The worker's `email` export. */
  handler: WorkerEmail | undefined;
  /** Where the handler's `ctx.waitUntil` work goes (a runtime that waits for it at shutdown); default: logged only. */
  waitUntil?: (promise: Promise<unknown>) => void;
  /** The worker's `fetch` export, if any. */
  fetch: WorkerFetch | undefined;
  /** Listen for SMTP on this port (0: a free one); undefined: no listener. */
  smtpPort: number | undefined;
  /** Address to bind the listener to: the HTTP server's. */
  hostname: string;
  /** Where HEARTH_SMTP_URL, HEARTH_EMAIL_WEBHOOK_SECRET and HEARTH_EMAIL_WEBHOOK_AUTH are read (the process environment). */
  vars: Readonly<Record<string, string | undefined>>;
}

/** Mail as the CLI serves it. */
export interface EmailService {
  /** The worker fetch with the inbound-mail webhook in front (when it is on); else the fetch given. */
  readonly fetch: WorkerFetch | undefined;
  readonly smtp: SmtpListener | undefined;
  /** The webhook's path when HEARTH_EMAIL_WEBHOOK_SECRET is set. */
  readonly webhookPath: string | undefined;
  /** The outbound SMTP server (password hidden) when HEARTH_SMTP_URL is set. */
  readonly outbound: string | undefined;
  /** Things worth telling the user that do not stop the server. */
  readonly warnings: string[];
  close(): Promise<void>;
}

/**
 * Starts what the environment and flags ask for: `env.EMAIL` over HEARTH_SMTP_URL (unless `bindEmail`
 * is false), the SMTP listener on `smtpPort`, the webhook at `/_hearth/email` with HEARTH_EMAIL_WEBHOOK_SECRET (signed
 * requests with HEARTH_EMAIL_WEBHOOK_AUTH=signature).
 * @example
 * const mail = await startEmailService({ env: host.env, handler: entry.email, fetch: entry.fetch, smtpPort: 2525, hostname: "127.0.0.1", vars: process.env });
 * await serve({ host, fetch: mail.fetch });
 */
export async function startEmailService(options: EmailServiceOptions): Promise<EmailService> {
  const warnings: string[] = [];
  let outbound: string | undefined;
  const url = options.vars[SMTP_URL_VAR];
  if (url) {
    const binding = smtpBindingFor(url);
    outbound = binding.server;
    // A wrangler project (bindEmail false) gets no binding its config does not declare.
    if (options.bindEmail !== false) {
      if (!("EMAIL" in options.env)) options.env.EMAIL = binding;
      else warnings.push(`env.EMAIL is already defined, so the ${SMTP_URL_VAR} binding is not bound there (it still sends replies, forwards, and for agents without a binding).`);
    }
  }

  let fetch = options.fetch;
  let webhookPath: string | undefined;
  const secret = options.vars[WEBHOOK_SECRET_VAR];
  if (secret) {
    const webhook = createMailWebhook({ secret, auth: webhookAuth(options.vars[WEBHOOK_AUTH_VAR]), handler: options.handler, env: options.env, ...(options.waitUntil ? { waitUntil: options.waitUntil } : {}) });
    const inner = options.fetch ?? agentsOnlyFetch;
    fetch = (request, env, ctx) => webhook(request) ?? inner(request, env, ctx);
    webhookPath = WEBHOOK_PATH;
  }

  const wantsMail = options.smtpPort !== undefined || secret;
  if (wantsMail && !options.handler) {
    warnings.push("Inbound mail is on, but the default export has no email(message, env, ctx) handler: every message is refused.");
  }
  const smtp =
    options.smtpPort === undefined
      ? undefined
      : await startSmtpListener({ handler: options.handler, env: options.env, port: options.smtpPort, hostname: options.hostname, ...(options.waitUntil ? { waitUntil: options.waitUntil } : {}) });

  return {
    fetch,
    smtp,
    webhookPath,
    outbound,
    warnings,
    close: async () => {
      await smtp?.close();
    },
  };
}

/** HEARTH_EMAIL_WEBHOOK_AUTH: `bearer` when unset. */
function webhookAuth(value: string | undefined): MailWebhookAuth {
  const mode = (value ?? "").trim().toLowerCase();
  if (mode === "" || mode === "bearer") return "bearer";
  if (mode === "signature") return "signature";
  throw new EmailError("not_configured", `${WEBHOOK_AUTH_VAR} must be "bearer" or "signature", got ${JSON.stringify(value)}`);
}

