import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanup, requireBuild, runCli, tempDir } from "./helpers.ts";

const ENTRY = "examples/chat-room/src/index.ts";

beforeAll(requireBuild);

interface Frame {
  type: string;
  [key: string]: unknown;
}

/** A WebSocket that records every JSON frame and can wait for one that matches. */
class Peer {
  readonly frames: Frame[] = [];
  readonly socket: WebSocket;
  readonly #waiters = new Set<() => void>();

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.addEventListener("message", (event) => {
      this.frames.push(JSON.parse(String(event.data)) as Frame);
      for (const waiter of [...this.#waiters]) waiter();
    });
  }

  /** Resolves with the first frame (from index `from`) that satisfies `test`. */
  next(test: (frame: Frame) => boolean, from = 0): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.frames.slice(from).find(test);
        if (found) {
          this.#waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no matching frame; got ${JSON.stringify(this.frames)}`));
      }, 10_000);
      this.#waiters.add(check);
      check();
    });
  }

  send(frame: unknown): void {
    this.socket.send(JSON.stringify(frame));
  }
}

const peers: Peer[] = [];
afterEach(async () => {
  for (const peer of peers.splice(0)) peer.socket.close();
  await cleanup();
});

function join(base: string, room: string, nick: string): Peer {
  const peer = new Peer(`${base.replace("http", "ws")}/agents/chat-room/${room}?nick=${nick}`);
  peers.push(peer);
  return peer;
}

describe("examples/chat-room", () => {
  it("serves the page, broadcasts messages, tracks nicknames and keeps history", async () => {
    const data = await tempDir();
    const cli = runCli(["start", ENTRY, "--port", "0", "--data", data]);
    const url = await cli.ready();

    const page = await fetch(`${url}/`);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    expect(html).toContain("new WebSocket(");
    expect(html).toContain("/agents/chat-room/");

    const ada = join(url, "lobby", "ada");
    expect(await ada.next((f) => f.type === "history")).toEqual({ type: "history", messages: [] });
    const linus = join(url, "lobby", "linus");
    await linus.next((f) => f.type === "history");
    expect(await ada.next((f) => f.type === "presence" && (f.nicks as string[]).length === 2)).toEqual({
      type: "presence",
      nicks: ["ada", "linus"],
    });

    ada.send({ type: "say", text: "hello room" });
    const heard = await linus.next((f) => f.type === "message");
    expect(heard.message).toMatchObject({ nick: "ada", text: "hello room" });
    await ada.next((f) => f.type === "message"); // the sender gets it too

    const mark = linus.frames.length;
    linus.send({ type: "nick", nick: "torvalds" });
    expect(await ada.next((f) => f.type === "presence" && (f.nicks as string[]).includes("torvalds"))).toEqual({
      type: "presence",
      nicks: ["ada", "torvalds"],
    });
    linus.send({ type: "say", text: "renamed" });
    expect((await ada.next((f) => f.type === "message" && (f.message as { text: string }).text === "renamed")).message).toMatchObject({
      nick: "torvalds",
    });

    // Posting over HTTP reaches connected sockets as well.
    const posted = await fetch(`${url}/agents/chat-room/lobby`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ nick: "curl", text: "from the shell" }),
    });
    expect(posted.status).toBe(201);
    expect((await linus.next((f) => f.type === "message" && (f.message as { nick: string }).nick === "curl", mark)).message).toMatchObject({
      text: "from the shell",
    });

    // history() is callable over RPC without a decorator (static callables).
    linus.send({ type: "rpc", id: "h1", method: "history", args: [2] });
    const reply = await linus.next((f) => f.type === "rpc" && f.id === "h1");
    expect(reply).toMatchObject({ success: true });
    expect((reply.result as Array<{ text: string }>).map((m) => m.text)).toEqual(["renamed", "from the shell"]);

    // Another room is another agent.
    const other = await fetch(`${url}/agents/chat-room/elsewhere`);
    expect(await other.json()).toEqual([]);

    // History survives a restart.
    cli.proc.kill("SIGTERM");
    expect((await cli.exited()).code).toBe(0);
    const again = runCli(["start", ENTRY, "--port", "0", "--data", data]);
    const url2 = await again.ready();
    const history = (await (await fetch(`${url2}/agents/chat-room/lobby`)).json()) as Array<{ nick: string; text: string }>;
    expect(history.map((m) => `${m.nick}: ${m.text}`)).toEqual(["ada: hello room", "torvalds: renamed", "curl: from the shell"]);
    const late = join(url2, "lobby", "late");
    expect(((await late.next((f) => f.type === "history")).messages as unknown[]).length).toBe(3);
  });

  it("rejects empty messages", async () => {
    const cli = runCli(["start", ENTRY, "--port", "0", "--data", await tempDir()]);
    const url = await cli.ready();
    const response = await fetch(`${url}/agents/chat-room/lobby`, { method: "POST", body: JSON.stringify({ text: "  " }) });
    expect(response.status).toBe(400);
    const peer = join(url, "lobby", "ada");
    await peer.next((f) => f.type === "history");
    peer.send({ type: "say", text: "" });
    expect(await peer.next((f) => f.type === "error")).toEqual({ type: "error", error: "Empty message." });
  });
});
