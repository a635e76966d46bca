import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCommandLine, toStartArgs, type RunOptions } from "../../src/cli/args.ts";
import { formatBanner } from "../../src/cli/banner.ts";
import { CliError } from "../../src/cli/errors.ts";
import { startServer, type RunningServer } from "../../src/cli/server.ts";
import { sendMail, startMailSink, type MailSink } from "./helpers.ts";

const FIXTURE = join(import.meta.dirname, "fixtures", "mail-app.ts");

describe("hearth dev|start --smtp-port", () => {
  it("reads the flag, then HEARTH_SMTP_PORT, and passes it on to the server child", () => {
    const flag = parseCommandLine(["start", "app.ts", "--smtp-port", "2526"], { HEARTH_SMTP_PORT: "9" }, "/w");
    expect(flag).toMatchObject({ kind: "serve", options: { smtpPort: 2526 } });
    const env = parseCommandLine(["dev", "app.ts"], { HEARTH_SMTP_PORT: "2527" }, "/w");
    expect(env).toMatchObject({ kind: "serve", options: { smtpPort: 2527 } });
    const off = parseCommandLine(["dev", "app.ts"], {}, "/w");
    expect(off.kind === "serve" && off.options.smtpPort).toBeUndefined();
    if (flag.kind !== "serve") throw new Error("expected serve");
    expect(toStartArgs(flag.options)).toEqual(expect.arrayContaining(["--smtp-port", "2526"]));
    expect(() => parseCommandLine(["start", "app.ts", "--smtp-port", "smtp"], {}, "/w")).toThrow(CliError);
    expect(() => parseCommandLine(["start", "app.ts", "--smtp-port", "smtp"], {}, "/w")).toThrow(/--smtp-port must be a port number/);
  });

  it("shows the listener, the webhook and the outbound server in the banner", () => {
    const banner = stripVTControlCharacters(
      formatBanner({
        command: "start",
        entry: "app.ts",
        agents: ["Inbox"],
        hasFetch: true,
        url: "http://127.0.0.1:8787",
        email: { smtp: "smtp://127.0.0.1:2525", webhook: "http://127.0.0.1:8787/_hearth/email", outbound: "smtps://u:***@mail.example.com/" },
        dataDir: "/data",
        durability: "relaxed",
      }),
    );
    expect(banner).toContain("smtp     smtp://127.0.0.1:2525  (mail → the default export's email())");
    expect(banner).toContain("webhook  POST http://127.0.0.1:8787/_hearth/email");
    expect(banner).toContain("mail out smtps://u:***@mail.example.com/  (replies, forwards, this.sendEmail(); env.EMAIL without a wrangler config)");
    const without = stripVTControlCharacters(
      formatBanner({ command: "start", entry: "app.ts", agents: [], hasFetch: false, url: "http://x", dataDir: "/d", durability: "relaxed" }),
    );
    expect(without).not.toMatch(/smtp|webhook|mail out/);
  });
});

describe("a served entry with an email export", () => {
  let sink: MailSink;
  let running: RunningServer;
  let cwd: string;

  let savedSmtpUrl: string | undefined;
  beforeAll(async () => {
    sink = await startMailSink();
    cwd = mkdtempSync(join(tmpdir(), "hearth-email-cli-"));
    // As a user would: the secrets in .env (agents see the names listed there), the rest in the environment.
    writeFileSync(join(cwd, ".env"), "EMAIL_SECRET=cli-secret\nHEARTH_EMAIL_WEBHOOK_SECRET=hook-secret\n");
    savedSmtpUrl = process.env.HEARTH_SMTP_URL;
    process.env.HEARTH_SMTP_URL = sink.url;
    const dataDir = join(cwd, ".hearth");
    const options: RunOptions = { command: "start", entry: FIXTURE, port: 0, host: "127.0.0.1", dataDir, durability: undefined, smtpPort: 0 };
    running = await startServer(options, cwd);
  });

  afterAll(async () => {
    // The test files of one worker share the process: leave its environment as found.
    if (savedSmtpUrl === undefined) delete process.env.HEARTH_SMTP_URL;
    else process.env.HEARTH_SMTP_URL = savedSmtpUrl;
    await running?.stop();
    await sink.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  it("listens for SMTP on the HTTP host, hands mail to email(), and replies through HEARTH_SMTP_URL", async () => {
    const smtp = running.banner.email?.smtp;
    expect(smtp).toMatch(/^smtp:\/\/127\.0\.0\.1:\d+$/);
    expect(running.banner.email?.webhook).toBe(`${running.banner.url}/_hearth/email`);
    expect(running.banner.email?.outbound).toBe(`${sink.url}`);
    const sent = await sendMail(smtp!, { from: "ada@example.org", to: "desk@example.com", subject: "reply to me", text: "hi" });
    expect(sent.ok).toBe(true);
    const [reply] = await sink.waitFor(1);
    expect(reply).toMatchObject({ from: "desk@example.com", to: ["ada@example.org"] });
    expect(reply?.parsed.subject).toBe("Re: reply to me");
  });

  it("binds env.EMAIL, a send_email-shaped binding over HEARTH_SMTP_URL, for worker code", async () => {
    const before = sink.messages.length;
    const response = await fetch(`${running.banner.url}/send`);
    expect(response.status).toBe(200);
    const { messageId } = (await response.json()) as { messageId: string };
    const [sent] = (await sink.waitFor(before + 1)).slice(before);
    expect(sent?.to).toEqual(["ops@example.net"]);
    expect(sent?.parsed.from).toMatchObject({ address: "app@example.com", name: "App" });
    expect(sent?.parsed.messageId).toBe(messageId);
  });

  it("serves the inbound-mail webhook only to requests carrying the secret", async () => {
    const raw = "From: ada@example.org\r\nTo: hooked@example.com\r\nSubject: Via webhook\r\n\r\nposted\r\n";
    const url = `${running.banner.url}/_hearth/email`;
    expect((await fetch(url, { method: "POST", body: raw })).status).toBe(401);
    const ok = await fetch(url, { method: "POST", body: raw, headers: { authorization: "Bearer hook-secret" } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ accepted: true, recipients: ["hooked@example.com"] });
    // Other paths still reach the worker's fetch.
    expect((await fetch(`${running.banner.url}/elsewhere`)).status).toBe(404);
  });
});
