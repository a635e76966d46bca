// The help desk as a mail server drives it: each delivery is one call of the worker's email handler.
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent } from "hearth";
import type { ForwardableEmailMessage } from "hearth/email";
import { createTestEnv, type TestEnv } from "hearth/testing";
import worker, { HelpDesk } from "./src/index.ts";

interface Sent {
  from: string;
  to: string;
}

/**
 * A message as the SMTP listener hands it over. Its reply takes a moment (outside I/O, as sending
 * to a mail server does) and then fails while `replyFails` is set.
 */
function message(raw: string, outbox: Sent[], replyFails: () => boolean, to = "support@example.com"): ForwardableEmailMessage {
  const bytes = new TextEncoder().encode(raw);
  const headers = new Headers();
  for (const line of raw.split("\r\n\r\n")[0]!.split("\r\n")) {
    const colon = line.indexOf(":");
    headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return {
    from: "ada@example.org",
    to,
    headers,
    raw: new ReadableStream({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    }),
    rawSize: bytes.byteLength,
    setReject: () => {},
    forward: async () => ({ messageId: "" }),
    reply: async (reply) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (replyFails()) throw new Error("421 mail server busy, try again later");
      outbox.push({ from: reply.from, to: reply.to });
      return { messageId: "<ack@example.com>" };
    },
  };
}

/** One delivery, as the SMTP listener or the webhook makes it: the worker's email handler with the env. */
function deliver(test: TestEnv, mail: ForwardableEmailMessage): Promise<void> {
  return worker.email(mail, test.env as Parameters<typeof worker.email>[1]);
}

const PRINTER = "From: ada@example.org\r\nTo: support@example.com\r\nSubject: Printer on fire\r\nMessage-ID: <printer-1@example.org>\r\n\r\nIt is on fire.\r\n";

let t: TestEnv;
beforeEach(async () => {
  t = await createTestEnv({ agents: { HelpDesk }, vars: { EMAIL_SECRET: "test-secret" } });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await t.close();
});

it("stores a message as a ticket and acknowledges it", async () => {
  const outbox: Sent[] = [];
  await deliver(t, message(PRINTER, outbox, () => false));
  const tickets = await t.get<HelpDesk>("HelpDesk", "support").tickets();
  expect(tickets).toEqual([{ sender: "ada@example.org", subject: "Printer on fire", body: "It is on fire.\n", at: expect.any(String) }]);
  expect(outbox).toEqual([{ from: "support@example.com", to: "ada@example.org" }]);
});

it("a delivery whose acknowledgement failed, sent again by the mail server, is one ticket, acknowledged once", async () => {
  const outbox: Sent[] = [];
  let failing = true;
  vi.spyOn(console, "error").mockImplementation(() => {}); // the agent logs each failed delivery
  await expect(deliver(t, message(PRINTER, outbox, () => failing))).rejects.toThrow("421 mail server busy");
  await expect(deliver(t, message(PRINTER, outbox, () => failing))).rejects.toThrow("421 mail server busy");
  failing = false;
  await deliver(t, message(PRINTER, outbox, () => failing));
  // A mail server that did not hear the 250 sends it once more: nothing new, no second acknowledgement.
  await deliver(t, message(PRINTER, outbox, () => failing));
  const tickets = await t.get<HelpDesk>("HelpDesk", "support").tickets();
  expect(tickets.map((ticket) => ticket.subject)).toEqual(["Printer on fire"]);
  expect(outbox).toHaveLength(1);
});

it("tells messages without a Message-ID apart by their content", async () => {
  const outbox: Sent[] = [];
  const bare = (subject: string) => `From: ada@example.org\r\nTo: support@example.com\r\nSubject: ${subject}\r\n\r\nHello\r\n`;
  await deliver(t, message(bare("one"), outbox, () => false));
  await deliver(t, message(bare("two"), outbox, () => false));
  await deliver(t, message(bare("one"), outbox, () => false));
  const tickets = await t.get<HelpDesk>("HelpDesk", "support").tickets();
  expect(tickets.map((ticket) => ticket.subject)).toEqual(["one", "two"]);
  expect(outbox).toHaveLength(2);
});

it("routes an address in any case to the same desk", async () => {
  const outbox: Sent[] = [];
  const question = (subject: string) => `From: ada@example.org\r\nTo: Support@example.com\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@example.org>\r\n\r\nHello\r\n`;
  await deliver(t, message(question("mixed"), outbox, () => false, "Support@example.com"));
  await deliver(t, message(question("upper"), outbox, () => false, "SUPPORT@example.com"));
  const tickets = await t.get<HelpDesk>("HelpDesk", "support").tickets();
  expect(tickets.map((ticket) => ticket.subject)).toEqual(["mixed", "upper"]);
});

/** A desk as the example kept it before tickets were keyed by their message. */
class DeskOfOld extends Agent {
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS tickets (sender TEXT, subject TEXT, body TEXT, at TEXT)`;
  }
  file(sender: string, subject: string) {
    this.sql`INSERT INTO tickets VALUES (${sender}, ${subject}, '', '2020-01-01T00:00:00.000Z')`;
  }
}

it("keeps the tickets of a desk from before, and keys the new ones", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "help-desk-"));
  try {
    const before = await createTestEnv({ agents: { HelpDesk: DeskOfOld }, dataDir, time: "system" });
    await before.get<DeskOfOld>("HelpDesk", "support").file("bob@example.org", "Old question");
    await before.close();
    const after = await createTestEnv({ agents: { HelpDesk }, vars: { EMAIL_SECRET: "test-secret" }, dataDir, time: "system" });
    const outbox: Sent[] = [];
    await deliver(after, message(PRINTER, outbox, () => false));
    await deliver(after, message(PRINTER, outbox, () => false));
    const tickets = await after.get<HelpDesk>("HelpDesk", "support").tickets();
    await after.close();
    expect(tickets.map((ticket) => ticket.subject)).toEqual(["Old question", "Printer on fire"]);
    expect(outbox).toHaveLength(1);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
