import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSmtpListener, type SmtpListener, type WorkerEmail } from "../../src/email/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { sendLikeAnMta, sendMail, startMailSink, type MailSink } from "./helpers.ts";
import { email, Inbox, refusals } from "./inbox-agent.ts";

const SECRET = "test-secret";
let sink: MailSink;
let t: TestEnv;
let smtp: SmtpListener;

beforeAll(async () => {
  sink = await startMailSink();
  t = await createTestEnv({ agents: { Inbox }, vars: { HEARTH_SMTP_URL: sink.url, EMAIL_SECRET: SECRET } });
  smtp = await startSmtpListener({ handler: email, env: t.env, port: 0 });
});

afterAll(async () => {
  await smtp.close();
  await t.close();
  await sink.close();
});

const inbox = (name: string) => t.get<Inbox>("Inbox", name);

describe("mail into Hearth's SMTP listener", () => {
  it("reaches the agent named by the address, which stores it in its SQLite", async () => {
    const sent = await sendMail(smtp.url, { from: "ada@example.org", to: "support@example.com", subject: "Hello", text: "First message" });
    expect(sent).toMatchObject({ ok: true, accepted: ["support@example.com"] });
    expect(await inbox("support").messages()).toEqual([
      { sender: "ada@example.org", recipient: "support@example.com", subject: "Hello", body: "First message", secure: 0 },
    ]);
  });

  it("routes agent+id@domain to that class and instance", async () => {
    await sendMail(smtp.url, { from: "ada@example.org", to: "inbox+billing@example.com", subject: "Invoice", text: "x" });
    expect((await inbox("billing").messages()).map((m) => m.subject)).toEqual(["Invoice"]);
  });

  it("delivers the agent's reply to the sender through the outbound SMTP server, threaded and signed", async () => {
    const before = sink.messages.length;
    const sent = await sendMail(smtp.url, {
      from: "grace@example.org",
      to: "sales@example.com",
      subject: "Please reply",
      text: "Are you there?",
      messageId: "<question-1@example.org>",
    });
    expect(sent.ok).toBe(true);
    const [reply] = (await sink.waitFor(before + 1)).slice(before);
    expect(reply?.from).toBe("sales@example.com");
    expect(reply?.to).toEqual(["grace@example.org"]);
    expect(reply?.parsed.subject).toBe("Re: Please reply");
    expect(reply?.parsed.from).toMatchObject({ address: "sales@example.com", name: "Inbox Agent" });
    expect(reply?.parsed.inReplyTo).toBe("<question-1@example.org>");
    expect(reply?.parsed.text?.trim()).toBe("We got: Please reply");
    expect(reply?.header("x-agent-name")).toBe("inbox");
    expect(reply?.header("x-agent-id")).toBe("sales");
    expect(reply?.header("x-agent-sig")).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(reply?.header("x-agent-sig-ts")).toMatch(/^\d+$/);
  });

  it("routes a signed reply back to the agent that signed it, whatever address it was sent to", async () => {
    const before = sink.messages.length;
    await sendMail(smtp.url, { from: "grace@example.org", to: "sales@example.com", subject: "reply please", text: "q" });
    const [signed] = (await sink.waitFor(before + 1)).slice(before);
    const routing = {
      "X-Agent-Name": signed!.header("x-agent-name")!,
      "X-Agent-ID": signed!.header("x-agent-id")!,
      "X-Agent-Sig": signed!.header("x-agent-sig")!,
      "X-Agent-Sig-Ts": signed!.header("x-agent-sig-ts")!,
    };
    const sent = await sendMail(smtp.url, { from: "grace@example.org", to: "anyone@example.com", subject: "Answer", text: "a", headers: routing });
    expect(sent.ok).toBe(true);
    const sales = await inbox("sales").messages();
    expect(sales.at(-1)).toMatchObject({ subject: "Answer", recipient: "anyone@example.com", secure: 1 });
    expect(await inbox("anyone").messages()).toEqual([]);

    // A forged signature routes nowhere special: the address decides.
    const forged = { ...routing, "X-Agent-Sig": Buffer.from("forged".padEnd(32, "!")).toString("base64") };
    refusals.length = 0;
    await sendMail(smtp.url, { from: "mallory@example.org", to: "anyone@example.com", subject: "Forged", text: "f", headers: forged });
    expect(refusals).toEqual(["invalid"]);
    expect((await inbox("sales").messages()).map((m) => m.subject)).not.toContain("Forged");
    expect(await inbox("anyone").messages()).toMatchObject([{ subject: "Forged", secure: 0 }]);

    // A secure-routed email must be answered with a secret (or an explicit null): the handler fails, the sender retries.
    const unsigned = await sendMail(smtp.url, { from: "grace@example.org", to: "x@example.com", subject: "unsigned reply", text: "u", headers: routing });
    expect(unsigned).toMatchObject({ ok: false, responseCode: 451 });

    // Thirty-one days later the signature has expired (default maxAge: 30 days).
    await t.clock.advance("31 days");
    refusals.length = 0;
    await sendMail(smtp.url, { from: "grace@example.org", to: "late@example.com", subject: "Late answer", text: "l", headers: routing });
    expect(refusals).toEqual(["expired"]);
    expect((await inbox("sales").messages()).map((m) => m.subject)).not.toContain("Late answer");
    expect((await inbox("late").messages()).map((m) => m.subject)).toEqual(["Late answer"]);
  });

  it("turns setReject into a permanent SMTP refusal with the reason", async () => {
    const sent = await sendMail(smtp.url, { from: "ada@example.org", to: "blocked@example.com", subject: "Hi", text: "x" });
    expect(sent).toMatchObject({ ok: false, responseCode: 550 });
    expect(sent.ok === false && sent.response).toContain("Blocked by policy");
  });

  it("refuses an address no resolver can read (onNoRoute), and a class that is not bound", async () => {
    const long = `${"a".repeat(65)}@example.com`;
    const noRoute = await sendMail(smtp.url, { envelope: { from: "ada@example.org", to: [long] }, raw: "Subject: x\r\n\r\nbody\r\n" });
    expect(noRoute).toMatchObject({ ok: false, responseCode: 550 });
    expect(noRoute.ok === false && noRoute.response).toContain("Unknown recipient");

    const unknown = await sendMail(smtp.url, { from: "ada@example.org", to: "Nobody+x@example.com", subject: "x", text: "x" });
    expect(unknown).toMatchObject({ ok: false, responseCode: 550 });
    expect(unknown.ok === false && unknown.response).toContain("No mailbox for Nobody+x@example.com");
  });

  it("answers 451 when onEmail throws, and keeps none of its writes", async () => {
    const sent = await sendMail(smtp.url, { from: "ada@example.org", to: "flaky@example.com", subject: "fail now", text: "x" });
    expect(sent).toMatchObject({ ok: false, responseCode: 451 });
    expect(await inbox("flaky").messages()).toEqual([]);
  });

  it("forwards with X-* headers through the outbound server", async () => {
    const before = sink.messages.length;
    const sent = await sendMail(smtp.url, { from: "ada@example.org", to: "fwd@example.com", subject: "Keep this", text: "archive me" });
    expect(sent.ok).toBe(true);
    const [forwarded] = (await sink.waitFor(before + 1)).slice(before);
    expect(forwarded?.to).toEqual(["archive@example.net"]);
    expect(forwarded?.from).toBe("fwd@example.com");
    expect(forwarded?.header("x-forwarded-by")).toBe("hearth-test");
    expect(forwarded?.parsed.subject).toBe("Keep this");
    expect(forwarded?.parsed.from?.address).toBe("ada@example.org");
  });
});

describe("one recipient per SMTP transaction", () => {
  it("gives each recipient one copy when a sender retries a recipient that failed (here the 2nd, once)", async () => {
    const failOnce = new Set(["r2@example.com"]);
    const flaky: WorkerEmail = async (message, env) => {
      if (failOnce.delete(message.to)) throw new Error("r2's store is down for a moment");
      await email(message, env);
    };
    const listener = await startSmtpListener({ handler: flaky, env: t.env, port: 0 });
    try {
      const raw = "From: ada@example.org\r\nTo: r1@example.com, r2@example.com, r3@example.com\r\nSubject: Many\r\n\r\nonce each\r\n";
      const result = await sendLikeAnMta(listener.url, { from: "ada@example.org", to: ["r1@example.com", "r2@example.com", "r3@example.com"] }, raw);
      for (const name of ["r1", "r2", "r3"]) {
        expect((await inbox(name).messages()).map((m) => m.recipient)).toEqual([`${name}@example.com`]);
      }
      // r1 alone; r2 (451, retried) with r3 deferred (452); r2; r3.
      expect(result).toEqual({ delivered: ["r1@example.com", "r2@example.com", "r3@example.com"], refused: [], transactions: 4 });
    } finally {
      await listener.close();
    }
  });

  it("answers a second RCPT TO with 452 4.5.3, so the sender sends that recipient a transaction of its own", async () => {
    const sent = await sendMail(smtp.url, { envelope: { from: "ada@example.org", to: ["solo@example.com", "other@example.com"] }, raw: "Subject: Solo\r\n\r\nx\r\n" });
    expect(sent).toMatchObject({ ok: true, accepted: ["solo@example.com"], rejected: ["other@example.com"], rejectedCodes: [452] });
    expect(sent.ok && sent.rejectedResponses[0]).toMatch(/^452 4\.5\.3 Too many recipients/);
    expect((await inbox("solo").messages()).map((m) => m.subject)).toEqual(["Solo"]);
    expect(await inbox("other").messages()).toEqual([]);
  });
});

describe("limits of the SMTP listener", () => {
  let small: SmtpListener;
  beforeAll(async () => {
    small = await startSmtpListener({ handler: email, env: t.env, port: 0, maxEmailBytes: 64 * 1024 });
  });
  afterAll(() => small.close());

  it("refuses a message over maxEmailBytes with 552 and stores nothing", async () => {
    const sent = await sendMail(small.url, { from: "ada@example.org", to: "big@example.com", subject: "Big", text: "x".repeat(100 * 1024) });
    expect(sent).toMatchObject({ ok: false, responseCode: 552 });
    expect(await inbox("big").messages()).toEqual([]);
  });

  it("holds at most maxInFlightBytes of mail at once: more gets 452 4.3.1 (at MAIL FROM when SIZE says so) until there is room", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const slow: WorkerEmail = async (message, env) => {
      if (message.to.startsWith("slow@")) {
        entered();
        await held;
      }
      await email(message, env);
    };
    const tight = await startSmtpListener({ handler: slow, env: t.env, port: 0, maxEmailBytes: 64 * 1024, maxInFlightBytes: 100 * 1024 });
    try {
      const raw = `Subject: Sixty\r\n\r\n${`${"a".repeat(998)}\r\n`.repeat(60)}`;
      const first = sendMail(tight.url, { envelope: { from: "ada@example.org", to: ["slow@example.com"] }, raw });
      await inside;
      const refused = await sendMail(tight.url, { envelope: { from: "ada@example.org", to: ["later@example.com"] }, raw });
      expect(refused).toMatchObject({ ok: false, responseCode: 452, command: "DATA" });
      expect(refused.ok === false && refused.response).toMatch(/4\.3\.1 .*maxSmtpInFlightBytes/);
      const declared = await sendMail(tight.url, { envelope: { from: "ada@example.org", to: ["later@example.com"], size: raw.length } as never, raw });
      expect(declared).toMatchObject({ ok: false, responseCode: 452, command: "MAIL FROM" });
      release();
      expect(await first).toMatchObject({ ok: true });
      expect(await sendMail(tight.url, { envelope: { from: "ada@example.org", to: ["later@example.com"] }, raw })).toMatchObject({ ok: true });
      expect((await inbox("slow").messages()).map((m) => m.subject)).toEqual(["Sixty"]);
      expect((await inbox("later").messages()).map((m) => m.subject)).toEqual(["Sixty"]);
    } finally {
      release();
      await tight.close();
    }
  });

  it("gives back the bytes of a client that leaves in the middle of a message", async () => {
    const tight = await startSmtpListener({ handler: email, env: t.env, port: 0, maxEmailBytes: 64 * 1024, maxInFlightBytes: 100 * 1024 });
    try {
      await leaveMidMessage(tight.url, 60 * 1024);
      const raw = `Subject: After\r\n\r\n${`${"b".repeat(998)}\r\n`.repeat(60)}`;
      // The listener notices the departure on its own time: retry while it answers "try again later".
      let sent = await sendMail(tight.url, { envelope: { from: "ada@example.org", to: ["after@example.com"] }, raw });
      for (let attempt = 1; !sent.ok && sent.responseCode === 452 && attempt < 20; attempt++) {
        sent = await sendMail(tight.url, { envelope: { from: "ada@example.org", to: ["after@example.com"] }, raw });
      }
      expect(sent).toMatchObject({ ok: true });
      expect((await inbox("after").messages()).map((m) => m.subject)).toEqual(["After"]);
    } finally {
      await tight.close();
    }
  });

  it("refuses a header block over maxHeaderBytes or maxHeaderFields with 552 5.3.4, and stores nothing", async () => {
    const fields = (count: number) => "X-A: b\r\n".repeat(count);
    const huge = await sendMail(smtp.url, { envelope: { from: "ada@example.org", to: ["heads@example.com"] }, raw: `Subject: Huge\r\n${fields(40_000)}\r\nbody\r\n` });
    expect(huge).toMatchObject({ ok: false, responseCode: 552 });
    expect(huge.ok === false && huge.response).toMatch(/^552 5\.3\.4 The message's header block is larger than 262144 bytes \(maxHeaderBytes\)/);
    const many = await sendMail(smtp.url, { envelope: { from: "ada@example.org", to: ["heads@example.com"] }, raw: `Subject: Many\r\n${fields(1_000)}\r\nbody\r\n` });
    expect(many).toMatchObject({ ok: false, responseCode: 552 });
    expect(many.ok === false && many.response).toContain("5.3.4 The message has more than 1000 header fields (maxHeaderFields)");
    expect(await inbox("heads").messages()).toEqual([]);
  });

  it("answers 451 to a delivery still running after deliveryTimeoutMs, gives its bytes back, and ends the message", async () => {
    let unblock!: () => void;
    const blocked = new Promise<void>((resolve) => (unblock = resolve));
    let lateRead!: Promise<string>;
    const accepted: string[] = [];
    const stuck: WorkerEmail = async (message) => {
      if (!message.to.startsWith("stuck@")) return void accepted.push(message.to);
      // A handler waiting on something that does not answer (a model call, a fetch without a timeout).
      lateRead = blocked.then(() => new Response(message.raw).text().then(() => "read", (error: Error) => error.message));
      await lateRead;
    };
    const tight = await startSmtpListener({ handler: stuck, env: t.env, port: 0, maxEmailBytes: 64 * 1024, maxInFlightBytes: 100 * 1024, deliveryTimeoutMs: 300 });
    try {
      const raw = `Subject: Sixty\r\n\r\n${`${"a".repeat(998)}\r\n`.repeat(60)}`;
      const first = await sendMail(tight.url, { envelope: { from: "ada@example.org", to: ["stuck@example.com"] }, raw });
      expect(first).toMatchObject({ ok: false, responseCode: 451 });
      // Its 60 KiB are back: another message of that size fits the 100 KiB budget.
      expect(await sendMail(tight.url, { envelope: { from: "ada@example.org", to: ["next@example.com"] }, raw })).toMatchObject({ ok: true });
      expect(accepted).toEqual(["next@example.com"]);
      unblock();
      expect(await lateRead).toBe("Cannot read the message: the delivery of this email is over (its handler ran past smtpDeliveryTimeoutSeconds)");
    } finally {
      unblock();
      await tight.close();
    }
  });

  it("refuses a budget smaller than the largest message", async () => {
    await expect(startSmtpListener({ handler: email, env: t.env, port: 0, maxEmailBytes: 2048, maxInFlightBytes: 1024 })).rejects.toThrow(/maxInFlightBytes \(1024\) must be at least maxEmailBytes \(2048\)/);
  });

  it("refuses every recipient when the worker has no email handler", async () => {
    const none = await startSmtpListener({ handler: undefined, env: t.env, port: 0 });
    try {
      const sent = await sendMail(none.url, { from: "ada@example.org", to: "support@example.com", subject: "x", text: "x" });
      expect(sent).toMatchObject({ ok: false, responseCode: 550 });
      expect(sent.ok === false && sent.response).toContain("no email handler");
    } finally {
      await none.close();
    }
  });
});

/** Starts a message over a plain socket, sends `bytes` of it, and closes the connection without the final dot. */
async function leaveMidMessage(url: string, bytes: number): Promise<void> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.setEncoding("utf8");
  let received = "";
  const waitFor = (code: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!new RegExp(`^${code} `, "m").test(received)) return;
        socket.off("data", onData);
        resolve();
      };
      const onData = (chunk: string) => {
        received += chunk;
        check();
      };
      socket.on("data", onData);
      socket.once("error", reject);
      check();
    });
  await waitFor("220");
  socket.write("EHLO leaver\r\nMAIL FROM:<ada@example.org>\r\nRCPT TO:<gone@example.com>\r\nDATA\r\n");
  await waitFor("354");
  socket.write(`Subject: Gone\r\n\r\n${`${"c".repeat(1022)}\r\n`.repeat(Math.floor(bytes / 1024))}`);
  // end(), not destroy(): the bytes reach the listener before the connection closes.
  await new Promise<void>((resolve) => socket.end(resolve));
  socket.destroy();
}
