/**
 * `useAgent({ sub })` in a real browser (React, PartySocket and Chromium's WebSocket) against a
 * Hearth server on loopback: state sync and RPC with a sub-agent through its parent, two levels
 * deep, switching the sub-agent, a disabled placeholder, the parent's `onBeforeSubAgent` refusing,
 * a step no URL can carry, and reconnecting after the server restarts on the same data.
 *
 * Needs Chromium at /usr/bin/chromium; without it the suite is skipped.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BrowserApp, browserSuite, bundleForBrowser, clickTestId as click, hasChromium, testIdText as text } from "../support/browser.ts";
import {
  Agent,
  getAgentByName,
  getSubAgentByName,
  Host,
  routeAgentRequest,
  serve,
  type AgentNamespace,
} from "../../src/index.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/sub-app.tsx", import.meta.url));
/** Upper bound for every wait on the page. */
const WAIT = 10_000;

class ChatThread extends Agent<unknown, { messages: string[] }> {
  static callables = ["add"];
  override initialState = { messages: [] as string[] };

  add(text: string): number {
    this.setState({ messages: [...this.state.messages, text] });
    return this.state.messages.length;
  }

  /** Server-side read for the test; not callable from clients. */
  read(): string[] {
    return this.state.messages;
  }
}

/** Refuses children whose name starts with "secret". */
class Mailbox extends Agent {
  override onBeforeSubAgent(_request: Request, child: { className: string; name: string }): Response | void {
    if (child.name.startsWith("secret")) return new Response("Forbidden", { status: 403 });
  }
}

const AGENTS = { Mailbox, ChatThread };

const HTML = `<!doctype html>
<html>
  <head><meta charset="utf-8"><title>useAgent with sub</title></head>
  <body><div id="root"></div><script type="module" src="/app.js"></script></body>
</html>`;

/** The messages of a ChatThread below Mailbox "ada", read on the server (`steps`: its names, root first). */
async function messagesOf(host: Host | undefined, ...steps: string[]): Promise<string[]> {
  if (host === undefined) throw new Error("setup did not finish");
  let stub: unknown = await getAgentByName(host.env.Mailbox as AgentNamespace<Mailbox>, "ada");
  for (const name of steps) stub = await getSubAgentByName(stub, ChatThread, name);
  return (stub as { read(): Promise<string[]> }).read();
}

/** Chromium's own log line for a refused WebSocket, and React's for an error a boundary caught. */
const expectedNoise = (problem: string): boolean =>
  /WebSocket connection to .* failed/.test(problem) ||
  problem.includes("Invalid sub-agent address") ||
  problem.includes("The above error occurred");

describe.skipIf(!hasChromium)(browserSuite("useAgent with sub in headless Chromium"), () => {
  const app = new BrowserApp();
  const { problems } = app;

  beforeAll(() => app.start({ tmpPrefix: "hearth-browser-sub-", entry: FIXTURE, html: HTML, agents: AGENTS, timeout: WAIT }));
  afterAll(() => app.close());

  async function connected(page: Page, name: string): Promise<void> {
    await expect.poll(text(page, "identified"), { timeout: WAIT }).toBe("true");
    expect(await text(page, "name")()).toBe(name);
  }

  test("state and RPC reach the sub-agent through its parent, on every page of it", async () => {
    const first = await app.open("?thread=sync");
    const second = await app.open("?thread=sync");
    const other = await app.open("?thread=sync-other");
    await connected(first, "sync");
    await connected(second, "sync");
    await connected(other, "sync-other");
    expect(JSON.parse((await text(first, "path")()) ?? "null")).toEqual([
      { agent: "Mailbox", name: "ada" },
      { agent: "ChatThread", name: "sync" },
    ]);

    await click(first, "add");
    await expect.poll(text(first, "result"), { timeout: WAIT }).toBe("ok:1");
    await expect.poll(text(first, "messages"), { timeout: WAIT }).toBe("hello");
    await expect.poll(text(second, "messages"), { timeout: WAIT }).toBe("hello");
    expect(await text(other, "messages")()).toBe("");
    expect(await messagesOf(app.host, "sync")).toEqual(["hello"]);
    expect(await messagesOf(app.host, "sync-other")).toEqual([]);
    expect(problems).toEqual([]);
  });

  test("two levels deep", async () => {
    const page = await app.open("?thread=outer&deep=inner%2F1");
    await connected(page, "inner/1");
    expect(JSON.parse((await text(page, "path")()) ?? "null")).toEqual([
      { agent: "Mailbox", name: "ada" },
      { agent: "ChatThread", name: "outer" },
      { agent: "ChatThread", name: "inner/1" },
    ]);
    await click(page, "add");
    await expect.poll(text(page, "messages"), { timeout: WAIT }).toBe("hello");
    expect(await messagesOf(app.host, "outer", "inner/1")).toEqual(["hello"]);
    expect(await messagesOf(app.host, "outer")).toEqual([]);
    expect(problems).toEqual([]);
  });

  test("a placeholder step while disabled; a new step is a new connection, not an identity change", async () => {
    const page = await app.open("?thread=");
    expect(JSON.parse((await text(page, "path")()) ?? "null")).toEqual([
      { agent: "Mailbox", name: "ada" },
      { agent: "ChatThread", name: "" },
    ]);
    expect(await text(page, "identified")()).toBe("false");
    expect(await text(page, "opens")()).toBe("0");
    expect(await page.getByTestId("crash").count()).toBe(0);

    await click(page, "pick-1");
    await connected(page, "switch-1");
    await click(page, "add");
    await expect.poll(text(page, "messages"), { timeout: WAIT }).toBe("hello");
    await click(page, "pick-2");
    await expect.poll(text(page, "name"), { timeout: WAIT }).toBe("switch-2");
    await expect.poll(text(page, "identified"), { timeout: WAIT }).toBe("true");
    await expect.poll(text(page, "messages"), { timeout: WAIT }).toBe("");
    expect(await text(page, "change")()).toBe("-");
    expect(problems).toEqual([]);
  });

  test("onBeforeSubAgent refusing: the connection ends with an error that says it never opened", async () => {
    const before = problems.length;
    const page = await app.open("?thread=secret-1&retries=1");
    const message =
      "Agent connection closed: WebSocket closed with code 1006 before it opened (the server refused the upgrade or could not be reached)";
    await expect.poll(text(page, "error"), { timeout: WAIT }).toBe(message);
    expect(await text(page, "reported")()).toBe(message);
    expect(await text(page, "identified")()).toBe("false");
    expect(await text(page, "opens")()).toBe("0");
    expect(problems.slice(before).filter((problem) => !expectedNoise(problem))).toEqual([]);
    problems.splice(before);
  });

  test("a step no URL can carry throws a clear error from the hook", async () => {
    const before = problems.length;
    const page = await app.open("?thread=t1&klass=Sub");
    await expect.poll(text(page, "crash"), { timeout: WAIT }).toBe(
      'Invalid sub-agent address: sub[0].agent "Sub" has the URL form "sub", which separates sub-agents in URLs; rename the class',
    );
    expect(problems.slice(before).filter((problem) => !expectedNoise(problem))).toEqual([]);
    problems.splice(before);
  });

  test("reconnects to the same sub-agent after the server restarts on the same data", async () => {
    const page = await app.open("?thread=restart");
    await connected(page, "restart");
    await click(page, "add");
    await expect.poll(text(page, "messages"), { timeout: WAIT }).toBe("hello");

    const { server, host, tmp } = app;
    if (server === undefined || host === undefined || tmp === undefined) throw new Error("setup did not finish");
    const js = await bundleForBrowser(FIXTURE);
    await server.close();
    await host.close();
    await expect.poll(text(page, "identified"), { timeout: WAIT }).toBe("false");
    const next = new Host({ dataDir: path.join(tmp, "data"), agents: AGENTS });
    app.host = next;
    app.server = await serve({
      host: next,
      port: server.port,
      fetch: async (request, env) =>
        (await routeAgentRequest(request, env)) ??
        new Response(new URL(request.url).pathname === "/" ? HTML : js, {
          headers: { "content-type": new URL(request.url).pathname === "/" ? "text/html" : "text/javascript" },
        }),
    });

    await expect.poll(text(page, "opens"), { timeout: WAIT }).toBe("2");
    await connected(page, "restart");
    expect(await text(page, "messages")()).toBe("hello");
    await click(page, "add");
    await expect.poll(text(page, "result"), { timeout: WAIT }).toBe("ok:2");
    expect(await messagesOf(app.host, "restart")).toEqual(["hello", "hello"]);
    expect(await text(page, "change")()).toBe("-");
    expect(await text(page, "error")()).toBe("-");
    // The page's log of the attempts made while the server was down is expected.
    expect(problems.filter((problem) => !expectedNoise(problem))).toEqual([]);
    problems.splice(0);
  });
});
