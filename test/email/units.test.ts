import { describe, expect, it } from "vitest";
import {
  createAddressBasedEmailResolver,
  createCatchAllEmailResolver,
  createSecureReplyEmailResolver,
  EMAIL_LIMITS,
  EmailError,
  getAllEmailHeaders,
  getEmailHeader,
  hasAnyEmailHeader,
  hasEmailHeader,
  isAutoReplyEmail,
  parseEmailHeaders,
  signAgentHeaders,
  type ForwardableEmailMessage,
  type SignatureFailureReason,
} from "../../src/email/index.ts";
import { isMailAddress } from "../../src/email/address.ts";
import { parseHeaderBlock } from "../../src/email/headers.ts";
import { InboundEmail } from "../../src/email/inbound-email.ts";
import { DeliveryLedger } from "../../src/email/webhook-ledger.ts";
import { computeAgentSignature } from "../../src/email/signing.ts";

/** A message as a resolver sees it; resolvers read only `to` and `headers`. */
function message(to: string, headers: Record<string, string> = {}): ForwardableEmailMessage {
  return {
    from: "ada@example.org",
    to,
    headers: new Headers(headers),
    raw: new ReadableStream(),
    rawSize: 0,
    setReject: () => {},
    forward: async () => ({ messageId: "" }),
    reply: async () => ({ messageId: "" }),
  };
}

describe("createAddressBasedEmailResolver", () => {
  const resolve = createAddressBasedEmailResolver("EmailAgent");
  it("routes by the documented table", async () => {
    expect(await resolve(message("support@example.com"), {})).toEqual({ agentName: "EmailAgent", agentId: "support" });
    expect(await resolve(message("sales@example.com"), {})).toEqual({ agentName: "EmailAgent", agentId: "sales" });
    expect(await resolve(message("NotificationAgent+user123@example.com"), {})).toEqual({ agentName: "NotificationAgent", agentId: "user123" });
  });

  it("keeps the rest of a sub-address, reads display forms, and gives null for what it cannot read", async () => {
    expect(await resolve(message("tickets+a+b@example.com"), {})).toEqual({ agentName: "tickets", agentId: "a+b" });
    expect(await resolve(message("Desk <desk@example.com>"), {})).toEqual({ agentName: "EmailAgent", agentId: "desk" });
    expect(await resolve(message("no-at-sign"), {})).toBeNull();
    expect(await resolve(message(`${"x".repeat(65)}@example.com`), {})).toBeNull();
    expect(await resolve(message(`a@${"d".repeat(254)}`), {})).toBeNull();
    expect(await resolve(message("+id@example.com"), {})).toBeNull();
    expect(await resolve(message("agent+@example.com"), {})).toBeNull();
  });
});

describe("createCatchAllEmailResolver", () => {
  it("routes everything to one instance", async () => {
    const resolve = createCatchAllEmailResolver("EmailAgent", "default");
    expect(await resolve(message("anything@example.com"), {})).toEqual({ agentName: "EmailAgent", agentId: "default" });
  });
});

describe("createSecureReplyEmailResolver", () => {
  const secret = "s3cret";
  const seen: SignatureFailureReason[] = [];
  const resolve = createSecureReplyEmailResolver(secret, { maxAge: 3600, onInvalidSignature: (_email, reason) => seen.push(reason) });
  const now = () => Math.floor(Date.now() / 1000);
  const signedAt = (ts: number, id = "user-1") => ({
    "X-Agent-Name": "email-agent",
    "X-Agent-ID": id,
    "X-Agent-Sig": computeAgentSignature(secret, "email-agent", id, String(ts)),
    "X-Agent-Sig-Ts": String(ts),
  });

  it("accepts its own signature and marks the route as secure", async () => {
    const headers = await signAgentHeaders(secret, "email-agent", "user-1");
    expect(await resolve(message("x@example.com", headers), {})).toEqual({ agentName: "email-agent", agentId: "user-1", _secureRouted: true });
  });

  it("refuses missing, forged, expired, future and malformed signatures, saying why", async () => {
    seen.length = 0;
    const good = signedAt(now());
    expect(await resolve(message("x@example.com"), {})).toBeNull();
    expect(await resolve(message("x@example.com", { ...good, "X-Agent-ID": "someone-else" }), {})).toBeNull();
    expect(await resolve(message("x@example.com", signedAt(now(), "user-1")), {})).not.toBeNull();
    expect(await resolve(message("x@example.com", { ...good, "X-Agent-Sig": computeAgentSignature("other", "email-agent", "user-1", good["X-Agent-Sig-Ts"]) }), {})).toBeNull();
    expect(await resolve(message("x@example.com", signedAt(now() - 3601)), {})).toBeNull();
    expect(await resolve(message("x@example.com", signedAt(now() + 3600)), {})).toBeNull();
    expect(await resolve(message("x@example.com", { ...good, "X-Agent-Sig-Ts": "yesterday" }), {})).toBeNull();
    expect(seen).toEqual(["missing_headers", "invalid", "invalid", "expired", "invalid", "malformed_timestamp"]);
  });

  it("verifies signatures of instance names with colons and non-ASCII characters", async () => {
    for (const id of ["session:42", "café-☕"]) {
      const headers = await signAgentHeaders(secret, "email-agent", id);
      const encoded = { ...headers, "X-Agent-ID": `=?UTF-8?B?${Buffer.from(id).toString("base64")}?=` };
      const routed = await resolve(message("x@example.com", /^[\x20-\x7e]*$/.test(id) ? headers : encoded), {});
      expect(routed).toEqual({ agentName: "email-agent", agentId: id, _secureRouted: true });
    }
  });

  it("does not let a signature for A/b:c route to A:b/c (a class name never has a colon)", async () => {
    seen.length = 0;
    const ts = String(now());
    const signature = computeAgentSignature(secret, "email-agent", "b:c", ts);
    const shifted = { "X-Agent-Name": "email-agent:b", "X-Agent-ID": "c", "X-Agent-Sig": signature, "X-Agent-Sig-Ts": ts };
    expect(await resolve(message("x@example.com", shifted), {})).toBeNull();
    expect(seen).toEqual(["invalid"]);
    const genuine = { ...shifted, "X-Agent-Name": "email-agent", "X-Agent-ID": "b:c" };
    expect(await resolve(message("x@example.com", genuine), {})).toEqual({ agentName: "email-agent", agentId: "b:c", _secureRouted: true });
  });

  it("needs a secret, and signing refuses what the payload cannot carry", async () => {
    expect(() => createSecureReplyEmailResolver("")).toThrow(TypeError);
    await expect(signAgentHeaders("", "a", "b")).rejects.toThrow(/secret/);
    await expect(signAgentHeaders("s", "bad:name", "b")).rejects.toThrow(/must not contain ":"/);
  });
});

describe("isAutoReplyEmail", () => {
  const list = (headers: Record<string, string>) => Object.entries(headers).map(([key, value]) => ({ key: key.toLowerCase(), value }));
  it("recognises RFC 3834 and the common auto-reply headers", () => {
    expect(isAutoReplyEmail(list({ "Auto-Submitted": "auto-replied" }))).toBe(true);
    expect(isAutoReplyEmail(list({ "Auto-Submitted": "auto-generated" }))).toBe(true);
    expect(isAutoReplyEmail(list({ "X-Auto-Response-Suppress": "All" }))).toBe(true);
    expect(isAutoReplyEmail(list({ Precedence: "bulk" }))).toBe(true);
    expect(isAutoReplyEmail(list({ Precedence: "list" }))).toBe(true);
    expect(isAutoReplyEmail(new Headers({ "auto-submitted": "auto-replied" }))).toBe(true);
  });

  it("does not flag a person's mail", () => {
    expect(isAutoReplyEmail(list({ "Auto-Submitted": "no" }))).toBe(false);
    expect(isAutoReplyEmail(list({ Precedence: "first-class", Subject: "Lunch?" }))).toBe(false);
    expect(isAutoReplyEmail([], "Question about my order")).toBe(false);
  });

  it("looks at the subject when given one", () => {
    expect(isAutoReplyEmail([], "Automatic reply: Lunch?")).toBe(true);
    expect(isAutoReplyEmail([], "Out of Office until Monday")).toBe(true);
    expect(isAutoReplyEmail([], "Auto-Reply: received")).toBe(true);
  });
});

describe("header utilities", () => {
  const raw = Buffer.from(
    "Received: from a\r\nReceived: from b\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\nX-Long: one\r\n two\r\nX-Priority: 1\r\n\r\nBody: not a header\r\n",
  );
  const headers = parseHeaderBlock(raw);

  it("parses the header block as written, folded lines joined, the body left out", () => {
    expect(headers).toEqual([
      { key: "received", value: "from a" },
      { key: "received", value: "from b" },
      { key: "subject", value: "=?UTF-8?Q?caf=C3=A9?=" },
      { key: "x-long", value: "one two" },
      { key: "x-priority", value: "1" },
    ]);
  });

  it("reads at most maxHeaderBytes of header block and maxHeaderFields fields, then refuses", () => {
    const { maxHeaderBytes, maxHeaderFields } = EMAIL_LIMITS;
    // The block ends before the line break of its last line: "X-A: " and the value take maxHeaderBytes - 1, the CR one more.
    const block = (valueBytes: number) => Buffer.from(`X-A: ${"b".repeat(valueBytes)}\r\n\r\nbody\r\n`);
    expect(parseHeaderBlock(block(maxHeaderBytes - 6))).toHaveLength(1);
    expect(() => parseHeaderBlock(block(maxHeaderBytes - 5))).toThrow(new EmailError("limit", `The message's header block is larger than ${maxHeaderBytes} bytes (maxHeaderBytes)`));
    // A message of headers only, 24 MiB of them: refused, having looked at the first maxHeaderBytes only.
    expect(() => parseHeaderBlock(Buffer.alloc(24 * 1024 * 1024, "X-A: b\r\n"))).toThrow(/maxHeaderBytes/);
    const fields = (count: number) => Buffer.from(`${"X-A: b\r\n".repeat(count)}\r\nbody\r\n`);
    expect(parseHeaderBlock(fields(maxHeaderFields))).toHaveLength(maxHeaderFields);
    expect(() => parseHeaderBlock(fields(maxHeaderFields + 1))).toThrow(`The message has more than ${maxHeaderFields} header fields (maxHeaderFields)`);
  });

  it("reads headers case-insensitively, as lists or as a Headers object", () => {
    expect(parseEmailHeaders(headers)).toMatchObject({ "x-priority": "1", received: "from b" });
    expect(getEmailHeader(headers, "X-Priority")).toBe("1");
    expect(getEmailHeader(new Headers({ "X-Priority": "2" }), "x-priority")).toBe("2");
    expect(hasEmailHeader(headers, "SUBJECT")).toBe(true);
    expect(hasEmailHeader(headers, "X-Spam-Flag")).toBe(false);
    expect(hasAnyEmailHeader(headers, ["X-Spam-Flag", "X-Priority"])).toBe(true);
    expect(getAllEmailHeaders(headers, "Received")).toEqual(["from a", "from b"]);
  });
});

describe("EmailError", () => {
  it("says whether retrying can help", () => {
    expect(new EmailError("send_failed", "x", { responseCode: 550 }).permanent).toBe(true);
    expect(new EmailError("send_failed", "x", { responseCode: 421 }).permanent).toBe(false);
    expect(new EmailError("send_failed", "connection refused").permanent).toBe(false);
    expect(new EmailError("not_configured", "x").permanent).toBe(true);
  });
});

describe("isMailAddress", () => {
  it("takes bare addresses as mail systems write them", () => {
    for (const address of ["ada@example.org", "inbox+billing@example.com", "o'brien@mail.example.co.uk", "δοκιμή@παράδειγμα.δοκιμή", "root@[192.0.2.1]", "x@localhost"]) {
      expect(isMailAddress(address), address).toBe(true);
    }
  });

  it("refuses display names, spaces, line breaks, lone parts and overlong addresses", () => {
    for (const address of ["Ada <ada@example.org>", "a b@example.org", "a@example.org\r\nBcc: x@y.z", "@example.org", "ada@", "ada", "a@-x.org", `${"a".repeat(65)}@example.org`, `a@${"d".repeat(250)}.org`]) {
      expect(isMailAddress(address), address).toBe(false);
    }
  });
});

describe("InboundEmail.raw", () => {
  it("streams the message in chunks copied as they are read, so readers cannot change it for others", async () => {
    const bytes = new Uint8Array(200 * 1024).fill(0x61);
    const email = new InboundEmail({ from: "ada@example.org", to: "desk@example.com", raw: bytes, fields: [], outbound: () => ({ send: async () => ({ messageId: "" }) }) });
    const chunks: Uint8Array[] = [];
    for await (const chunk of email.raw) chunks.push(chunk);
    expect(chunks.map((c) => c.byteLength)).toEqual([65536, 65536, 65536, 8192]);
    chunks[0]!.fill(0x7a);
    const again = new Uint8Array(await new Response(email.raw).arrayBuffer());
    expect(again.every((b) => b === 0x61)).toBe(true);
    expect(InboundEmail.bytesOf(email)).toBe(bytes);
  });
});

describe("DeliveryLedger", () => {
  it("keeps final outcomes, forgets temporary failures, and forgets the oldest past its size", async () => {
    const ledger = new DeliveryLedger(3600, 2);
    ledger.record("id:<m1>", "a@x.org", Promise.resolve({ kind: "accepted", recipient: "a@x.org" }));
    const failed = Promise.resolve({ kind: "failed" as const, recipient: "b@x.org", error: new Error("down"), permanent: false });
    ledger.record("id:<m1>", "b@x.org", failed);
    await failed;
    expect(await ledger.outcomeOf("id:<m1>", "A@x.org")).toEqual({ kind: "accepted", recipient: "a@x.org" });
    expect(ledger.outcomeOf("id:<m1>", "b@x.org")).toBeUndefined();
    ledger.record("id:<m2>", "a@x.org", Promise.resolve({ kind: "rejected", recipient: "a@x.org", reason: "no" }));
    ledger.record("id:<m3>", "a@x.org", Promise.resolve({ kind: "accepted", recipient: "a@x.org" }));
    expect(ledger.outcomeOf("id:<m1>", "a@x.org")).toBeUndefined();
    expect(await ledger.outcomeOf("id:<m2>", "a@x.org")).toMatchObject({ kind: "rejected" });
  });
});

describe("deliverTo and waitUntil", () => {
  it("hands the handler's ctx.waitUntil work to the runtime's tracker", async () => {
    const { deliverTo } = await import("../../src/email/deliver.ts");
    const tracked: Array<Promise<unknown>> = [];
    const raw = new TextEncoder().encode("From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody\r\n");
    const work = Promise.resolve("from ctx");
    const outcome = await deliverTo(
      { from: "a@example.com", raw, fields: [] },
      "b@example.com",
      (_message, _env, ctx) => ctx.waitUntil(work),
      {},
      { waitUntil: (promise) => tracked.push(promise) },
    );
    expect(outcome).toMatchObject({ kind: "accepted" });
    expect(tracked).toEqual([work]);
  });
});
