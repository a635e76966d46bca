/**
 * partyserver from npm, unchanged, under `hearth dev`: the project in fixtures/partyserver-project (two
 * Servers, one hibernating) is copied to a temporary directory and served by the CLI in a child process;
 * partysocket clients talk to it over real WebSockets on loopback.
 */
import { cpSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import PartySocket from "partysocket";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanup, requireBuild, ROOT, runCli, tempDir, type CliProcess } from "../cli/helpers.ts";

const FIXTURE = join(ROOT, "test", "durable-object", "fixtures", "partyserver-project");
/** Idle time after which the host puts a room to sleep (hearth.config.ts in the copy). */
const HIBERNATE_AFTER_MS = 250;
const WAIT_MS = 20_000;
/**
 * How long a start of `hearth dev` may take here (the shared server's; the restart test has a start
 * and a restart). Measured at a load of 11 on two cores: 6.3 s to start, 4.5 s to restart; with the
 * whole suite running a start has been seen to print nothing for over 20 s (test/cli/helpers.ts waits
 * up to 45 s for its output). Start-up time is not what these tests check: the default 30 s is not
 * their bound.
 */
const START_MS = 60_000;

beforeAll(requireBuild);

/** What the fixture's servers send: JSON objects with a `type`. */
type Frame = { type: string } & Record<string, unknown>;

/**
 * A copy of the project in a fresh directory. Its node_modules links to the repository's, so
 * `partyserver` resolves as in any installed project; hearth.config.ts makes idle rooms sleep quickly.
 */
async function copyProject(): Promise<string> {
  const dir = await tempDir("hearth-partyserver-");
  cpSync(FIXTURE, dir, { recursive: true, filter: (source) => !source.includes(".hearth") });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  writeFileSync(join(dir, "hearth.config.ts"), `export default { hibernateAfterMs: ${HIBERNATE_AFTER_MS} };\n`);
  return dir;
}

async function serve(): Promise<{ dir: string; dev: CliProcess; base: string; host: string }> {
  const dir = await copyProject();
  const dev = runCli(["dev", "--port", "0"], { cwd: dir });
  const base = await dev.ready();
  return { dir, dev, base, host: new URL(base).host };
}

/** A partysocket client that keeps every frame it receives. */
class Client {
  readonly socket: PartySocket;
  readonly frames: Frame[] = [];
  readonly #waiters = new Set<() => void>();

  constructor(host: string, party: string, room: string, query: Record<string, string> = {}) {
    this.socket = new PartySocket({ host, party, room, query, minReconnectionDelay: 50, maxReconnectionDelay: 500 });
    this.socket.addEventListener("message", (event: MessageEvent) => {
      this.frames.push(JSON.parse(String(event.data)) as Frame);
      for (const waiter of [...this.#waiters]) waiter();
    });
  }

  get id(): string {
    return this.socket.id;
  }

  send(text: string): void {
    this.socket.send(text);
  }

  /** The first frame at index `from` or later that matches. */
  waitFor(match: (frame: Frame) => boolean, what: string, from = 0): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const frame = this.frames.slice(from).find(match);
        if (frame === undefined) return;
        finish();
        resolve(frame);
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames)}`));
      }, WAIT_MS);
      const finish = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Sends `text` and waits for the first frame of `type` that arrives after it. */
  async ask(text: string, type: string): Promise<Frame> {
    const from = this.frames.length;
    this.send(text);
    return this.waitFor((frame) => frame.type === type, `a ${type} frame after "${text}"`, from);
  }

  close(): void {
    this.socket.close();
  }
}

const isChat = (text: string) => (frame: Frame) => frame.type === "chat" && frame.text === text;

async function json(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url);
  expect(response.status, url).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

/**
 * Waits until the room behind `client` has been put to sleep and woken again: its start count (kept
 * by onStart in storage, reported by "whoami") passes `before`. Each probe waits longer than the idle
 * time first, since the probe itself wakes the room.
 */
async function nextStart(client: Client, before: number): Promise<number> {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, HIBERNATE_AFTER_MS * 3));
    const starts = (await client.ask("whoami", "whoami")).starts as number;
    if (starts > before) return starts;
  }
  throw new Error(`the room never hibernated (starts stayed at ${before})`);
}

describe("partyserver under hearth dev", () => {
  // One server for the tests that do not restart it: each uses rooms of its own, so none sees
  // another's connections, messages or start counts.
  let shared: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    shared = await serve();
  }, START_MS);
  afterAll(cleanup);

  it("routes /parties/<kebab-class>/<room> to the Servers; onRequest answers with the room's name", async () => {
    const { base, dev } = shared;
    expect(dev.output()).toMatch(/objects\s+ChatRoom, Lobby/);
    expect(await json(`${base}/parties/chat-room/kitchen`)).toEqual({ name: "kitchen", starts: 1, connections: 0, messages: 0, alarms: 0 });
    expect(await json(`${base}/parties/lobby/hall`)).toMatchObject({ name: "hall", received: 0, connections: 0 });
    const outside = await fetch(`${base}/elsewhere`);
    expect(outside.status).toBe(404);
    expect(await outside.text()).toBe("Not found");
    const unknown = await fetch(`${base}/parties/no-such-server/x`);
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toBe("Invalid request");
  });

  it("onConnect that throws: the client gets partyserver's error frame and a 1011 close", async () => {
    const { base } = shared;
    const seen = await new Promise<{ messages: string[]; code: number; reason: string }>((resolve) => {
      const socket = new WebSocket(`${base.replace("http", "ws")}/parties/chat-room/cellar?user=${"x".repeat(33)}`);
      const messages: string[] = [];
      socket.addEventListener("message", (event) => messages.push(String(event.data)));
      socket.addEventListener("close", (event) => resolve({ messages, code: event.code, reason: event.reason }));
    });
    expect(seen).toMatchObject({ code: 1011, reason: "Uncaught exception during session setup" });
    expect(JSON.parse(seen.messages[0] ?? "{}")).toMatchObject({ error: expect.stringContaining("A name has at most 32 characters") });
    expect(await json(`${base}/parties/chat-room/cellar`)).toMatchObject({ name: "cellar" });
  });

  it("a hibernating room: broadcast, connection state and tags, before and after it sleeps; onClose", async () => {
    const { base, host } = shared;
    const ada = new Client(host, "chat-room", "parlor", { user: "ada", team: "red" });
    const bob = new Client(host, "chat-room", "parlor", { user: "bob", team: "red" });
    const cy = new Client(host, "chat-room", "parlor", { user: "cy", team: "blue" });
    for (const client of [ada, bob, cy]) {
      expect(await client.waitFor((frame) => frame.type === "welcome", "welcome")).toMatchObject({ id: client.id, room: "parlor" });
    }

    ada.send("hello");
    for (const client of [ada, bob, cy]) await client.waitFor(isChat("hello"), "hello");
    expect(await ada.ask("rename Ada L.", "renamed")).toMatchObject({ state: { user: "Ada L." } });
    expect(await ada.ask("whoami", "whoami")).toMatchObject({ id: ada.id, state: { user: "Ada L." }, tags: [ada.id, "team:red"], room: "parlor" });

    // A message to a tag reaches that team only; the chat after it arrives later on every socket.
    bob.send("team for red");
    bob.send("done");
    for (const client of [ada, bob, cy]) await client.waitFor(isChat("done"), "done");
    expect(ada.frames.filter((frame) => frame.type === "team")).toEqual([{ type: "team", from: "bob", text: "for red" }]);
    expect(bob.frames.filter((frame) => frame.type === "team")).toHaveLength(1);
    expect(cy.frames.filter((frame) => frame.type === "team")).toEqual([]);

    const before = (await bob.ask("whoami", "whoami")).starts as number;
    const after = await nextStart(bob, before);

    // Woken by a message: the sockets, their state (the attachment) and tags are all still there.
    bob.send("after sleep");
    for (const client of [ada, bob, cy]) {
      expect(await client.waitFor(isChat("after sleep"), "after sleep")).toMatchObject({ from: "bob", starts: after });
    }
    expect(await ada.ask("whoami", "whoami")).toMatchObject({ id: ada.id, state: { user: "Ada L." }, tags: [ada.id, "team:red"], starts: after });
    const from = cy.frames.length;
    ada.send("team still red");
    bob.send("done again");
    await cy.waitFor(isChat("done again"), "done again", from);
    await ada.waitFor((frame) => frame.type === "team" && frame.text === "still red", "team message after the wake");
    expect(cy.frames.filter((frame) => frame.type === "team")).toEqual([]);

    cy.close();
    expect(await ada.waitFor((frame) => frame.type === "left", "cy left")).toEqual({ type: "left", id: cy.id });
    expect(await json(`${base}/parties/chat-room/parlor`)).toMatchObject({ name: "parlor", connections: 2, messages: 4 });
    ada.close();
    bob.close();
  });

  it("onAlarm, set with ctx.storage.setAlarm, wakes the sleeping room and knows its name", async () => {
    const { base, host } = shared;
    const ada = new Client(host, "chat-room", "attic", { user: "ada" });
    await ada.waitFor((frame) => frame.type === "welcome", "welcome");
    const before = (await ada.ask("whoami", "whoami")).starts as number;
    const set = await ada.ask(`alarm ${HIBERNATE_AFTER_MS * 8}`, "alarm-set");
    expect(typeof set.at).toBe("number");
    // The room sleeps before its alarm is due; the alarm wakes it (a new start) and broadcasts.
    const alarm = await ada.waitFor((frame) => frame.type === "alarm", "the alarm");
    expect(alarm).toMatchObject({ type: "alarm", room: "attic", rang: 1 });
    expect(alarm.starts as number).toBeGreaterThan(before);
    expect(await json(`${base}/parties/chat-room/attic`)).toMatchObject({ name: "attic", alarms: 1, connections: 1 });
    ada.close();
  });

  it("a room without hibernation keeps its instance and in-memory connections while a hibernating one sleeps", async () => {
    const { base, host } = shared;
    const one = new Client(host, "lobby", "foyer");
    const two = new Client(host, "lobby", "foyer");
    const welcome = await one.waitFor((frame) => frame.type === "welcome", "welcome");
    await two.waitFor((frame) => frame.type === "welcome", "welcome");
    const instance = welcome.instance as string;
    const sleeper = new Client(host, "chat-room", "porch");
    await sleeper.waitFor((frame) => frame.type === "welcome", "welcome");

    // Both rooms sit idle for as long as the chat room takes to fall asleep and wake.
    await nextStart(sleeper, (await sleeper.ask("whoami", "whoami")).starts as number);

    one.send("still here?");
    for (const client of [one, two]) {
      expect(await client.waitFor((frame) => frame.type === "echo", "echo")).toMatchObject({ from: one.id, text: "still here?", received: 1, instance });
    }
    expect(await json(`${base}/parties/lobby/foyer`)).toEqual({ name: "foyer", instance, received: 1, connections: 2 });
    for (const client of [one, two, sleeper]) client.close();
  });
});

describe("partyserver under hearth dev, restarted", () => {
  afterEach(cleanup);

  it("clients reconnect after hearth dev restarts; what the rooms stored is kept", async () => {
    const { dir, dev, base, host } = await serve();
    const ada = new Client(host, "chat-room", "studio", { user: "ada" });
    const lobby = new Client(host, "lobby", "hall");
    const first = await ada.waitFor((frame) => frame.type === "welcome", "welcome");
    const lobbyFirst = await lobby.waitFor((frame) => frame.type === "welcome", "lobby welcome");
    ada.send("before the restart");
    await ada.waitFor(isChat("before the restart"), "before the restart");

    const mark = dev.output().length;
    const entry = join(dir, "src", "index.ts");
    writeFileSync(entry, `${readFileSync(entry, "utf8")}\n// edited\n`);
    expect(await dev.ready(mark)).toBe(base);

    // partysocket reconnects by itself, with the same connection id, to the restarted server.
    const again = await ada.waitFor((frame) => frame.type === "welcome", "welcome after the restart", ada.frames.indexOf(first) + 1);
    expect(again).toMatchObject({ id: ada.id, room: "studio" });
    expect(again.starts as number).toBeGreaterThan(first.starts as number);
    const lobbyAgain = await lobby.waitFor((frame) => frame.type === "welcome", "lobby welcome after the restart", lobby.frames.indexOf(lobbyFirst) + 1);
    expect(lobbyAgain.instance).not.toBe(lobbyFirst.instance);

    ada.send("after the restart");
    await ada.waitFor(isChat("after the restart"), "after the restart");
    expect(await json(`${base}/parties/chat-room/studio`)).toMatchObject({ name: "studio", connections: 1, messages: 2 });
    ada.close();
    lobby.close();
  }, 2 * START_MS);
});
