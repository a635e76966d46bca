/**
 * Slack reads a message's top-level `text` (the notification line and the fallback) as mrkdwn, as it
 * does the blocks: `&`, `<` and `>` in an alert's summary (which can quote an error message) are
 * escaped there too, so `<!channel>` or a disguised link cannot be injected.
 */
import { describe, expect, it } from "vitest";
import { buildNotification } from "../../../src/observability/alerts/evaluate.ts";
import { slackPayload } from "../../../src/observability/alerts/payloads.ts";
import { validateRule } from "../../../src/observability/alerts/validate-rule.ts";

describe("the Slack payload", () => {
  it("escapes &, < and > in the top-level text and the attachment's fallback, as in the blocks", () => {
    const rule = validateRule({ kind: "error", name: "Chat <errors> & co", window: "5m", threshold: 0, severity: "critical" });
    const message = "Unknown room <!channel> <https://evil.example|reset your password> & more";
    const notification = buildNotification(rule, { key: "[]", labels: {}, value: 3, startsAt: Date.UTC(2026, 0, 1) }, "firing", null, { message });
    const payload = slackPayload(notification, "");
    const text = payload.text as string;
    expect(text).not.toMatch(/[<>]/);
    expect(text).toContain("Chat &lt;errors&gt; &amp; co");
    expect(text).toContain("Unknown room &lt;!channel&gt; &lt;https://evil.example|reset your password&gt; &amp; more");
    const [block] = payload.blocks as Array<{ text: { text: string } }>;
    expect(block!.text.text).toBe(`*${text.slice(0, text.indexOf(": "))}*\n${text.slice(text.indexOf(": ") + 2)}`);
    const [attachment] = payload.attachments as Array<{ fallback: string }>;
    expect(attachment!.fallback).toBe(text);
  });
});
