/**
 * The chat example in a real browser: the page is built with Vite (examples/chat/build.ts), a
 * Hearth server on loopback serves it with the example's `Chat` agent on the offline demo model,
 * and headless Chromium chats: a streamed answer, a server tool, a tool the page runs itself, a
 * tool that needs approval (click Approve), the history after a reload, a reload in the middle of an answer (the stream resumes),
 * a dropped connection in the middle of a turn another tab started (the page catches up), a page
 * following another tab's turn whose timers run late (it says "ready" only with the whole answer),
 * stop and clear.
 *
 * The example imports the built package ("hearth", i.e. dist/): `npm run build` first. Needs
 * Chromium at /usr/bin/chromium (Debian: `apt-get install chromium`); without it the suite is
 * skipped. The screenshot is written to test/browser/artifacts/chat.png.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { browserSuite, cleanUpInOrder, hasChromium, releaseChromium, sharedChromium } from "../support/browser.ts";
import { createTestEnv, type TestEnv } from "hearth/testing";
import { buildChatPage } from "../../examples/chat/build.ts";
import app, { Chat } from "../../examples/chat/src/server.ts";

/** Upper bound for every wait on the page. */
const WAIT = 10_000;
const SCREENSHOT = fileURLToPath(new URL("./artifacts/chat.png", import.meta.url));

interface StoredPart {
  type: string;
  state?: string;
  text?: string;
  output?: { sent?: boolean; to?: string };
}
interface StoredMessage {
  id: string;
  role: string;
  parts: StoredPart[];
}

describe.skipIf(!hasChromium)(
  browserSuite("the chat example in headless Chromium"),
  () => {
    let t: TestEnv | undefined;
    let url = "";
    let browser: Browser | undefined;
    let context: BrowserContext | undefined;
    const problems: string[] = [];

    beforeAll(async () => {
      await buildChatPage({ quiet: true });
      t = await createTestEnv({
        agents: { Chat },
        time: "system",
        fetch: app.fetch,
        // The offline demo model, whatever keys the machine has; 40 ms between streamed words.
        vars: { OPENAI_API_KEY: "", ANTHROPIC_API_KEY: "", OPENAI_BASE_URL: "", DEMO_WORD_DELAY_MS: "40" },
      });
      url = await t.url();
      browser = await sharedChromium();
      context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
      context.setDefaultTimeout(WAIT);
    });

    afterAll(async () => {
      await cleanUpInOrder([() => context?.close(), () => releaseChromium(browser), () => t?.close()]);
    });

    async function open(chat: string, options: { trackSockets?: boolean; in?: BrowserContext } = {}): Promise<Page> {
      const owner = options.in ?? context;
      if (owner === undefined) throw new Error("setup did not finish");
      const page = await owner.newPage();
      // Keeps the page's WebSockets in `window.sockets`, so a test can drop the connection.
      if (options.trackSockets) {
        await page.addInitScript(() => {
          const Native = window.WebSocket;
          const sockets: WebSocket[] = [];
          (window as unknown as { sockets: WebSocket[] }).sockets = sockets;
          window.WebSocket = class extends Native {
            constructor(...args: ConstructorParameters<typeof WebSocket>) {
              super(...args);
              sockets.push(this);
            }
          };
        });
      }
      page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(`console.error: ${message.text()}`);
      });
      await page.goto(`${url}/?chat=${chat}`);
      await expect.poll(() => page.getByTestId("connection").textContent(), { timeout: WAIT }).toBe("connected");
      return page;
    }

    const assistant = (page: Page) => page.locator('[data-testid="message"][data-role="assistant"]');
    const status = (page: Page) => () => page.getByTestId("status").textContent();

    /** Records the length of the last assistant message's text every time the transcript changes. */
    async function recordLengths(page: Page): Promise<() => Promise<number[]>> {
      await page.evaluate(() => {
        const lengths: number[] = [];
        (window as unknown as { lengths: number[] }).lengths = lengths;
        const transcript = document.querySelector('[data-testid="transcript"]')!;
        new MutationObserver(() => {
          const messages = transcript.querySelectorAll('[data-role="assistant"]');
          const text = messages[messages.length - 1]?.textContent ?? "";
          if (lengths.at(-1) !== text.length) lengths.push(text.length);
        }).observe(transcript, { subtree: true, childList: true, characterData: true });
      });
      return () => page.evaluate(() => (window as unknown as { lengths: number[] }).lengths);
    }

    async function stored(chat: string): Promise<StoredMessage[]> {
      const response = await t!.fetch(`/agents/chat/${chat}/get-messages`);
      return (await response.json()) as StoredMessage[];
    }

    test("streams answers, runs a tool after approval, and shows the history after a reload", async () => {
      const page = await open("browser");
      expect(await page.getByTestId("model").textContent()).toBe("offline demo model");

      // A streamed answer: the text grows word by word.
      const lengths = await recordLengths(page);
      await page.getByTestId("composer").fill("Hello there");
      await page.getByTestId("send").click();
      await expect.poll(() => assistant(page).last().textContent(), { timeout: WAIT }).toContain('You said: "Hello there".');
      await expect.poll(status(page), { timeout: WAIT }).toBe("ready");
      const grown = await lengths();
      expect(grown.length).toBeGreaterThanOrEqual(5);
      expect(grown).toEqual([...grown].sort((a, b) => a - b));
      expect(await assistant(page).last().textContent()).toMatch(/^\(offline demo model — set OPENAI_API_KEY/);

      // A server tool runs at once.
      await page.getByRole("button", { name: "What time is it?" }).click();
      const time = page.locator('[data-testid="tool"][data-tool="get_time"]');
      await expect.poll(() => time.getAttribute("data-state"), { timeout: WAIT }).toBe("complete");
      await expect.poll(() => assistant(page).last().textContent(), { timeout: WAIT }).toContain("The get_time tool says:");
      await expect.poll(status(page), { timeout: WAIT }).toBe("ready");

      // A tool the page runs itself: the browser answers the call, the agent continues.
      await page.getByRole("button", { name: "Which language does my browser use?" }).click();
      const browserInfo = page.locator('[data-testid="tool"][data-tool="get_browser_info"]');
      await expect.poll(() => browserInfo.getAttribute("data-state"), { timeout: WAIT }).toBe("complete");
      expect(await browserInfo.getByTestId("tool-output").textContent()).toContain('"language"');
      await expect.poll(() => assistant(page).last().textContent(), { timeout: WAIT }).toContain("The get_browser_info tool says:");
      await expect.poll(status(page), { timeout: WAIT }).toBe("ready");

      // A tool that needs approval waits for the button, then runs and the answer continues.
      await page.getByRole("button", { name: /Send an email/ }).click();
      const email = page.locator('[data-testid="tool"][data-tool="send_email"]');
      await expect.poll(() => email.getAttribute("data-state"), { timeout: WAIT }).toBe("waiting-approval");
      await expect.poll(status(page), { timeout: WAIT }).toBe("ready");
      expect(await email.locator("pre").first().textContent()).toContain('"to": "ada@example.com"');
      await email.getByRole("button", { name: "Approve" }).click();
      await expect.poll(() => email.getAttribute("data-state"), { timeout: WAIT }).toBe("complete");
      expect(await email.getByTestId("tool-output").textContent()).toContain('"sent": true');
      await expect.poll(() => assistant(page).last().textContent(), { timeout: WAIT }).toContain("The send_email tool says:");
      await expect.poll(status(page), { timeout: WAIT }).toBe("ready");

      // The agent stored the same conversation.
      const messages = await stored("browser");
      expect(messages.map((message) => message.role)).toEqual(["user", "assistant", "user", "assistant", "user", "assistant", "user", "assistant"]);
      const sent = messages[7]!.parts.find((part) => part.type === "tool-send_email");
      expect(sent).toMatchObject({ state: "output-available", output: { sent: true, to: "ada@example.com" } });
      const shown = await page.getByTestId("message").count();

      // After a reload the history is back, approval and all.
      await page.reload();
      await expect.poll(() => page.getByTestId("message").count(), { timeout: WAIT }).toBe(shown);
      expect(await email.getAttribute("data-state")).toBe("complete");
      expect(await assistant(page).last().textContent()).toContain("The send_email tool says:");
      expect(await page.getByRole("button", { name: "Approve" }).count()).toBe(0);

      fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      console.log(`[browser test] screenshot of the chat example: ${SCREENSHOT}`);
      const png = fs.readFileSync(SCREENSHOT);
      expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
      expect(problems).toEqual([]);
    });

    test("a reload in the middle of an answer resumes the stream; stop and clear", async () => {
      const page = await open("resume");
      // The chat frames the page sends and receives, by type.
      const sent: string[] = [];
      const received: string[] = [];
      page.on("websocket", (socket) => {
        const typeOf = (payload: string | Buffer) => (JSON.parse(String(payload)) as { type: string }).type;
        socket.on("framesent", ({ payload }) => sent.push(typeOf(payload)));
        socket.on("framereceived", ({ payload }) => received.push(typeOf(payload)));
      });
      const words = Array.from({ length: 60 }, (_, i) => `word${i + 1}`).join(" ");
      await page.getByTestId("composer").fill(words);
      await page.getByTestId("send").click();
      await expect.poll(async () => (await assistant(page).last().textContent())?.length ?? 0, { timeout: WAIT }).toBeGreaterThan(40);

      // The turn goes on in the agent while the page reloads; the new page joins it and sees it end.
      await page.reload();
      await expect.poll(() => assistant(page).last().textContent(), { timeout: WAIT }).toContain('word60".');
      await expect.poll(status(page), { timeout: WAIT }).toBe("ready");
      expect(received).toContain("cf_agent_stream_resuming");
      expect(sent).toContain("cf_agent_stream_resume_ack");
      expect(await assistant(page).count()).toBe(1);
      expect(await page.locator('[data-testid="message"][data-role="user"]').count()).toBe(1);

      // Stop: the turn is cancelled on the agent, and what was streamed so far stays.
      await page.getByTestId("composer").fill(words);
      await page.getByTestId("send").click();
      await expect.poll(async () => (await assistant(page).nth(1).textContent())?.length ?? 0, { timeout: WAIT }).toBeGreaterThan(20);
      await page.getByTestId("stop").click();
      await expect.poll(status(page), { timeout: WAIT }).toBe("ready");
      expect(sent).toContain("cf_agent_chat_request_cancel");
      expect(await assistant(page).nth(1).textContent()).not.toContain('word60".');
      await expect.poll(async () => (await stored("resume")).length, { timeout: WAIT }).toBe(4);

      // Clear: empty here, on the agent, and after a reload.
      await page.getByTestId("clear").click();
      await expect.poll(() => page.getByTestId("message").count(), { timeout: WAIT }).toBe(0);
      expect(sent).toContain("cf_agent_chat_clear");
      await expect.poll(async () => (await stored("resume")).length, { timeout: WAIT }).toBe(0);
      await page.reload();
      await expect.poll(() => page.getByText("No messages yet").count(), { timeout: WAIT }).toBe(1);
      expect(problems).toEqual([]);
    });

    test("the page server answers a path with malformed percent-encoding with 400", async () => {
      const bad = await t!.fetch("/assets/%E0%A4%A.js");
      expect(bad.status).toBe(400);
      expect((await t!.fetch("/assets/missing.js")).status).toBe(404);
      expect((await t!.fetch("/")).status).toBe(200);
    });

    test("a page that loses its connection while another tab's turn streams catches up when it is back", async () => {
      const writer = await open("dropped");
      const reader = await open("dropped", { trackSockets: true });
      const words = Array.from({ length: 60 }, (_, i) => `word${i + 1}`).join(" ");
      await writer.getByTestId("composer").fill(words);
      await writer.getByTestId("send").click();
      // The reader follows the turn it did not start, then its connection drops mid-answer.
      await expect.poll(async () => (await assistant(reader).last().textContent())?.length ?? 0, { timeout: WAIT }).toBeGreaterThan(40);
      expect(await status(reader)()).toBe("streaming");
      const closed = await reader.evaluate(() => {
        const open = (window as unknown as { sockets: WebSocket[] }).sockets.filter((socket) => socket.readyState === WebSocket.OPEN);
        for (const socket of open) socket.close();
        return open.length;
      });
      expect(closed).toBe(1);

      // Back online, the reader catches up (a replay of the running turn, or the stored transcript) and settles.
      await expect.poll(() => reader.getByTestId("connection").textContent(), { timeout: WAIT }).toBe("connected");
      await expect.poll(() => assistant(reader).last().textContent(), { timeout: WAIT }).toContain('word60".');
      await expect.poll(status(reader), { timeout: WAIT }).toBe("ready");
      await expect.poll(status(writer), { timeout: WAIT }).toBe("ready");
      expect(await assistant(reader).count()).toBe(1);
      expect(await assistant(reader).last().textContent()).toBe(await assistant(writer).last().textContent());
      expect(problems).toEqual([]);
    });

    test("a page following another tab's turn says it is ready only with the whole answer, however late its timers run", async () => {
      // The reader's timers are held (its own browser context, its clock paused once it is up), as on
      // a machine too busy to run them: useChat's throttled render of the transcript never comes.
      // What the page shows when it says "ready" must be the whole answer all the same.
      const held = await browser!.newContext({ viewport: { width: 1000, height: 900 } });
      held.setDefaultTimeout(WAIT);
      try {
        await held.clock.install();
        const writer = await open("late-timers");
        const reader = await open("late-timers", { in: held });
        await held.clock.pauseAt((await reader.evaluate(() => Date.now())) + 1_000);
        await writer.getByTestId("composer").fill("Tell me about the weather");
        await writer.getByTestId("send").click();
        await expect.poll(status(reader), { timeout: WAIT }).toBe("streaming");
        await expect.poll(status(writer), { timeout: WAIT }).toBe("ready");
        await expect.poll(status(reader), { timeout: WAIT }).toBe("ready");
        const answer = await assistant(writer).last().textContent();
        expect(answer).toContain('You said: "Tell me about the weather".');
        // Read once, as it is when the page says "ready" (nothing later would change it).
        expect(await assistant(reader).allTextContents()).toEqual([answer]);
        expect(problems).toEqual([]);
      } finally {
        await held.close();
      }
    });
  },
);
