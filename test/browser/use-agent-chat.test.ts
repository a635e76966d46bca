/**
 * `hearth/react`'s `useAgentChat` in a real browser, on a `useAgent` socket whose query carries an
 * auth token that the worker checks on every request: the stored transcript is loaded with that
 * query (as the Agents SDK does, without PartySocket's `_pk`), a history request that fails after
 * a reconnect leaves the transcript shown, `experimental_throttle` sets the render throttle, a
 * tool the agent declares without `execute` is answered from `onToolCall`, and `onData` gets the
 * data parts of turns the page did not start (a continuation, another tab's turn), and
 * `prepareSendMessagesRequest` gets the id of the conversation shown, also after a change of room.
 *
 * Needs Chromium at /usr/bin/chromium; without it the suite is skipped.
 */
import { fileURLToPath } from "node:url";
import { createUIMessageStream, createUIMessageStreamResponse, type UIMessage } from "ai";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BrowserApp, browserSuite, clickTestId as click, hasChromium, testIdText as text } from "../support/browser.ts";
import { AIChatAgent } from "../../src/chat/index.ts";
import { routeAgentRequest } from "../../src/index.ts";
import { uniqueName } from "../client/helpers.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/chat-app.tsx", import.meta.url));
/** Upper bound for every wait on the page. */
const WAIT = 10_000;

/** Where a turn of `Chat` waits, between its two pieces of text and its end, until the test lets it go. */
let hold: Promise<void> = Promise.resolve();

/** Answers "first second" in two pieces, each followed by a transient data part marking it sent. */
class Chat extends AIChatAgent {
  override async onChatMessage(): Promise<Response> {
    const held = hold;
    const stream = createUIMessageStream({
      execute: async ({ writer }) => {
        writer.write({ type: "start" });
        writer.write({ type: "text-start", id: "t" });
        writer.write({ type: "text-delta", id: "t", delta: "first" });
        writer.write({ type: "data-mark", data: "1", transient: true });
        writer.write({ type: "text-delta", id: "t", delta: " second" });
        writer.write({ type: "data-mark", data: "2", transient: true });
        await held;
        writer.write({ type: "text-end", id: "t" });
        writer.write({ type: "finish" });
      },
    });
    return createUIMessageStreamResponse({ stream });
  }
}

/**
 * Asks the page for the user's city with a tool call it leaves waiting (a tool the agent declares
 * without `execute`); the continuation after the page's answer sends a transient data part, then
 * answers with the city.
 */
class ToolChat extends AIChatAgent {
  override async onChatMessage(): Promise<Response> {
    const last = this.messages.at(-1);
    const answer = last?.role === "assistant" ? last.parts.find((part) => part.type === "tool-getLocation" && part.state === "output-available") : undefined;
    const city = (answer as { output?: { city?: string } } | undefined)?.output?.city;
    const stream = createUIMessageStream({
      execute: ({ writer }) => {
        writer.write({ type: "start" });
        if (city === undefined) {
          writer.write({ type: "tool-input-available", toolCallId: "where-1", toolName: "getLocation", input: {} });
        } else {
          writer.write({ type: "data-mark", data: "continuation", transient: true });
          writer.write({ type: "text-start", id: "t" });
          writer.write({ type: "text-delta", id: "t", delta: `You are in ${city}.` });
          writer.write({ type: "text-end", id: "t" });
        }
        writer.write({ type: "finish" });
      },
    });
    return createUIMessageStreamResponse({ stream });
  }
}

const HTML = `<!doctype html>
<html>
  <head><meta charset="utf-8"><title>useAgentChat</title></head>
  <body>
    <p>data parts: <output data-testid="marks"></output>, transcripts rendered while streaming:
      <output data-testid="streaming-transcripts">0</output>, getInitialMessages url: <output data-testid="loader-url"></output>,
      prepareSendMessagesRequest ids: <output data-testid="prepared-ids"></output></p>
    <div id="root"></div>
    <script type="module" src="/app.js"></script>
  </body>
</html>`;

const TRANSCRIPT: UIMessage[] = [
  { id: "m1", role: "user", parts: [{ type: "text", text: "hi" }] },
  { id: "m2", role: "assistant", parts: [{ type: "text", text: "hello" }] },
];

describe.skipIf(!hasChromium)(
  browserSuite("useAgentChat in headless Chromium"),
  () => {
    const app = new BrowserApp();
    /** The query of every history request, by room. */
    const historyQueries = new Map<string, string[]>();
    /** While true, history requests fail (503) after the token check. */
    let historyFails = false;
    const hasToken = (request: Request): boolean => new URL(request.url).searchParams.get("token") === "secret";

    beforeAll(() =>
      app.start({
        tmpPrefix: "hearth-browser-chat-",
        entry: FIXTURE,
        html: HTML,
        agents: { Chat, ToolChat },
        timeout: WAIT,
        // The worker refuses connections and requests without the token.
        route: async (request, env) =>
          (await routeAgentRequest(request, env, {
            onBeforeConnect: (req) => (hasToken(req) ? undefined : new Response("no token", { status: 401 })),
            onBeforeRequest: (req, { name }) => {
              const url = new URL(req.url);
              if (url.pathname.endsWith("/get-messages")) {
                historyQueries.set(name, [...(historyQueries.get(name) ?? []), url.search]);
                if (hasToken(req) && historyFails) return new Response("unavailable", { status: 503 });
              }
              return hasToken(req) ? undefined : new Response("no token", { status: 401 });
            },
          })) ?? undefined,
      }),
    );
    afterAll(() => app.close());

    /** Opens the page on a room whose agent already stores {@link TRANSCRIPT}. */
    async function openRoom(search = "", room = uniqueName("room")): Promise<{ page: Page; room: string; warnings: string[] }> {
      await app.host!.invoke("Chat", room, "persistMessages", [TRANSCRIPT]);
      const page = await app.open(`?room=${room}${search}`);
      const warnings: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "warning") warnings.push(message.text());
      });
      return { page, room, warnings };
    }

    test("loads the history with the connection's query, and keeps the transcript when a later load fails", async () => {
      const { page, room, warnings } = await openRoom();
      await expect.poll(text(page, "loading"), { timeout: WAIT }).toBe("false");
      expect(await text(page, "count")()).toBe("2");
      expect(historyQueries.get(room)).toEqual(["?token=secret"]);

      // After a reconnect the history is read again; this time the request fails.
      historyFails = true;
      try {
        await click(page, "reconnect");
        await expect.poll(() => historyQueries.get(room)?.length, { timeout: WAIT }).toBe(2);
        await expect.poll(() => warnings.find((warning) => warning.includes("Could not load the chat history")), { timeout: WAIT }).toMatch(/503/);
      } finally {
        historyFails = false;
      }
      expect(await text(page, "count")()).toBe("2");
      expect(app.problems.filter((problem) => !problem.includes("Failed to load resource"))).toEqual([]);
    });

    test("getInitialMessages gets the agent's URL with the connection's query", async () => {
      const { page } = await openRoom("&custom-loader");
      await expect.poll(text(page, "loading"), { timeout: WAIT }).toBe("false");
      const url = new URL((await text(page, "loader-url")()) ?? "");
      expect(url.search).toBe("?token=secret");
      expect(url.pathname).toMatch(/^\/agents\/chat\/room-[^/]+$/);
    });

    test("experimental_throttle sets how often a streaming answer renders", async () => {
      let release!: () => void;
      hold = new Promise((resolve) => (release = resolve));
      // Ten minutes: during this test only a change of status publishes the transcript.
      const { page } = await openRoom("&experimental_throttle=600000");
      await expect.poll(text(page, "loading"), { timeout: WAIT }).toBe("false");
      try {
        await click(page, "send");
        // Both pieces of the answer are in the chat once the second mark has arrived. The change of
        // status to "streaming" published one transcript; with the default throttle (50 ms) the
        // pieces would publish another a moment later.
        await expect.poll(text(page, "marks"), { timeout: WAIT }).toBe("1,2");
        await expect.poll(text(page, "streaming-transcripts"), { timeout: WAIT }).toBe("1");
        // Time for a 50 ms throttle to show; ten minutes cannot run out, whatever the machine's speed.
        await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 500)));
        expect(await text(page, "status")()).toBe("streaming");
        expect(await text(page, "streaming-transcripts")()).toBe("1");
      } finally {
        release();
      }
      // The end of the turn is a change of status: the whole answer renders at once.
      await expect.poll(text(page, "status"), { timeout: WAIT }).toBe("ready");
      expect(await text(page, "answer")()).toBe("first second");
    });

    test("a tool the agent declares without execute is answered from onToolCall; onData gets the continuation's data parts", async () => {
      const before = app.problems.length;
      const page = await app.open(`?agent=ToolChat&room=${uniqueName("room")}`);
      await expect.poll(text(page, "loading"), { timeout: WAIT }).toBe("false");
      await click(page, "send");
      await expect.poll(text(page, "answer"), { timeout: WAIT }).toBe("You are in Paris.");
      await expect.poll(text(page, "marks"), { timeout: WAIT }).toBe("continuation");
      expect(app.problems.slice(before)).toEqual([]);
    });

    test("prepareSendMessagesRequest gets the id of the conversation shown, also after a change of room", async () => {
      const { page, room } = await openRoom();
      await expect.poll(text(page, "loading"), { timeout: WAIT }).toBe("false");
      await click(page, "send");
      await expect.poll(text(page, "answer"), { timeout: WAIT }).toBe("first second");
      await app.host!.invoke("Chat", `${room}-b`, "persistMessages", [TRANSCRIPT]);
      await click(page, "next-room");
      await expect.poll(text(page, "count"), { timeout: WAIT }).toBe("2");
      await click(page, "send");
      await expect.poll(async () => (await text(page, "prepared-ids")())?.split(" ").length, { timeout: WAIT }).toBe(2);
      const ids = ((await text(page, "prepared-ids")()) ?? "").split(" ").map((id) => new URL(id).pathname);
      expect(ids).toEqual([`/agents/chat/${room}`, `/agents/chat/${room}-b`]);
    });

    test("onData gets the data parts of another tab's turn", async () => {
      const before = app.problems.length;
      const { page: sender, room } = await openRoom();
      const { page: watcher } = await openRoom("", room);
      await expect.poll(text(sender, "loading"), { timeout: WAIT }).toBe("false");
      await expect.poll(text(watcher, "loading"), { timeout: WAIT }).toBe("false");
      await click(sender, "send");
      await expect.poll(text(sender, "marks"), { timeout: WAIT }).toBe("1,2");
      await expect.poll(text(watcher, "answer"), { timeout: WAIT }).toBe("first second");
      expect(await text(watcher, "marks")()).toBe("1,2");
      expect(app.problems.slice(before)).toEqual([]);
    });
  },
);
