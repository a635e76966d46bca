/**
 * Replies and forwards of received mail go out through the host's own transport (HEARTH_SMTP_URL),
 * as on Cloudflare, where they belong to Email Routing: never through the worker's `env.EMAIL`, whose
 * `send_email` restrictions apply to its own sends only. And a wrangler project's env gets no
 * `env.EMAIL` it did not declare.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ProjectConfig } from "../../src/config/types.ts";
import { deliverTo, receivedMail } from "../../src/email/deliver.ts";
import { EmailMessage } from "../../src/email/email-message.ts";
import { EmailError } from "../../src/email/errors.ts";
import { SMTP_URL_VAR } from "../../src/email/outbound.ts";
import { startEmailService } from "../../src/email/serve-email.ts";
import type { ForwardableEmailMessage, SendEmail } from "../../src/email/types.ts";
import { sendEmailBinding } from "../../src/worker/send-email.ts";
import { startMailSink, type MailSink } from "./helpers.ts";

const RAW = new TextEncoder().encode(
  "From: alice@ext.com\r\nTo: support@mydomain.com\r\nSubject: hi\r\nMessage-ID: <m1@ext.com>\r\n\r\nbody\r\n",
);
const REPLY =
  "From: support@mydomain.com\r\nTo: alice@ext.com\r\nIn-Reply-To: <m1@ext.com>\r\nReferences: <m1@ext.com>\r\nMessage-ID: <r1@mydomain.com>\r\nSubject: Re: hi\r\n\r\nthanks\r\n";
const project = { path: "/project/wrangler.toml" } as ProjectConfig;

let sink: MailSink;
let savedUrl: string | undefined;
beforeAll(async () => {
  sink = await startMailSink();
});
afterAll(async () => {
  await sink.close();
});
// The process environment is the fallback of HEARTH_SMTP_URL: these tests set it in `env` only.
beforeEach(() => {
  savedUrl = process.env[SMTP_URL_VAR];
  delete process.env[SMTP_URL_VAR];
});
afterEach(() => {
  if (savedUrl === undefined) delete process.env[SMTP_URL_VAR];
  else process.env[SMTP_URL_VAR] = savedUrl;
});

/** Delivers RAW to support@mydomain.com with `handle` as the email handler; rethrows what it threw. */
async function deliver(env: Record<string, unknown>, handle: (message: ForwardableEmailMessage) => Promise<void>): Promise<void> {
  let failure: unknown;
  await deliverTo(receivedMail(RAW, "alice@ext.com"), "support@mydomain.com", async (message) => {
    try {
      await handle(message);
    } catch (error) {
      failure = error;
    }
  }, env);
  if (failure !== undefined) throw failure;
}

describe("forward() and reply() of a received email", () => {
  it("go out through HEARTH_SMTP_URL, not through a restricted send_email binding named EMAIL", async () => {
    const before = sink.messages.length;
    const EMAIL = sendEmailBinding(
      { name: "EMAIL", destinationAddress: "owner@mydomain.com", allowedSenderAddresses: ["noreply@mydomain.com"] },
      sink.url,
      project,
    );
    const env = { [SMTP_URL_VAR]: sink.url, EMAIL };
    await deliver(env, async (message) => {
      await message.forward("team@mydomain.com");
      await message.reply(new EmailMessage("support@mydomain.com", "alice@ext.com", REPLY));
    });
    const sent = (await sink.waitFor(before + 2)).slice(before);
    expect(sent.map((mail) => [mail.from, mail.to])).toEqual([
      ["support@mydomain.com", ["team@mydomain.com"]],
      ["support@mydomain.com", ["alice@ext.com"]],
    ]);
    // The binding's own sends stay restricted.
    await expect(EMAIL.send({ from: "noreply@mydomain.com", to: "team@mydomain.com", subject: "x", text: "y" })).rejects.toThrow(
      /may not send to team@mydomain\.com/,
    );
  });

  it("never use the worker's env.EMAIL, whatever it is", async () => {
    const before = sink.messages.length;
    const used: unknown[] = [];
    const EMAIL: SendEmail = {
      async send(message) {
        used.push(message);
        return { messageId: "" };
      },
    };
    await deliver({ [SMTP_URL_VAR]: sink.url, EMAIL }, async (message) => {
      await message.forward("team@mydomain.com");
    });
    expect(used).toEqual([]);
    expect((await sink.waitFor(before + 1)).slice(before).map((mail) => mail.to)).toEqual([["team@mydomain.com"]]);
  });

  it("without HEARTH_SMTP_URL, go through an env.EMAIL the application bound itself; a declared send_email binding has no server then", async () => {
    const sent: unknown[] = [];
    const own = { send: async (message: unknown) => (sent.push(message), { messageId: "own-1" }) };
    await deliver({ EMAIL: own }, async (message) => {
      await message.forward("team@mydomain.com");
    });
    expect(sent).toHaveLength(1);
    // As the CLI builds it when HEARTH_SMTP_URL is not set.
    const declared = sendEmailBinding({ name: "EMAIL" }, undefined, project);
    const error = await deliver({ EMAIL: declared }, async (message) => {
      await message.forward("team@mydomain.com");
    }).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(EmailError);
    expect((error as EmailError).code).toBe("not_configured");
    expect((error as EmailError).message).toContain(SMTP_URL_VAR);
  });
});

describe("env.EMAIL over HEARTH_SMTP_URL (startEmailService)", () => {
  const start = (env: Record<string, unknown>, bindEmail?: boolean) =>
    startEmailService({
      env,
      handler: undefined,
      fetch: undefined,
      smtpPort: undefined,
      hostname: "127.0.0.1",
      vars: { [SMTP_URL_VAR]: sink.url },
      ...(bindEmail === undefined ? {} : { bindEmail }),
    });

  it("is not put into the env of a wrangler project (bindEmail: false), which declares its bindings", async () => {
    const env: Record<string, unknown> = {};
    const service = await start(env, false);
    expect("EMAIL" in env).toBe(false);
    expect(service.outbound).toBe(sink.url);
    expect(service.warnings).toEqual([]);
    await service.close();
  });

  it("is bound for an entry served without a wrangler config (the default), as documented", async () => {
    const env: Record<string, unknown> = {};
    const service = await start(env);
    expect(typeof (env.EMAIL as SendEmail | undefined)?.send).toBe("function");
    await service.close();
  });
});
