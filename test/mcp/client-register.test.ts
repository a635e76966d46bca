// this.mcp step by step, as the Agents SDK documents it: registerServer (stored, not connected),
// connectToServer ({ state: "connected" | "authenticating" | "failed" }), discoverIfConnected
// (connected → ready), onServerStateChanged, and how they relate to addMcpServer.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import type { McpServerStateChange, RegisterServerOptions } from "../../src/mcp/client/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { TestSocket } from "../support/harness.ts";
import { startRemoteServer, type RemoteServer } from "./fixtures/remote-server.ts";

class Stepper extends Agent<Record<string, unknown>> {
  changes: McpServerStateChange[] = [];
  subscription: { dispose(): void } | undefined;

  onStart() {
    this.subscription = this.mcp.onServerStateChanged((change) => this.changes.push(change));
  }

  register(id: string, options: RegisterServerOptions) {
    return this.mcp.registerServer(id, options);
  }

  connect(id: string) {
    return this.mcp.connectToServer(id);
  }

  discover(id: string) {
    return this.mcp.discoverIfConnected(id);
  }

  add(name: string, url: string, id?: string) {
    return this.addMcpServer(name, url, id === undefined ? {} : { id });
  }

  remove(id: string) {
    return this.mcp.removeServer(id);
  }

  states() {
    return Object.fromEntries(Object.entries(this.getMcpServers().servers).map(([id, s]) => [id, s.state]));
  }

  errors() {
    return Object.fromEntries(Object.entries(this.getMcpServers().servers).map(([id, s]) => [id, s.error]));
  }

  tools() {
    return this.mcp.listTools().map((tool) => `${tool.serverId}/${tool.name}`);
  }

  call(serverId: string, name: string, args: Record<string, unknown>) {
    return this.mcp.callTool({ serverId, name, arguments: args });
  }

  seen() {
    return this.changes.map((c) => `${c.serverId}:${c.state}`);
  }

  unsubscribe() {
    this.subscription?.dispose();
  }

  broadcast() {
    this.broadcastMcpServers();
  }
}

let t: TestEnv;
let remote: RemoteServer;

beforeEach(async () => {
  remote = await startRemoteServer();
  t = await createTestEnv({ agents: { Stepper }, time: "system" });
});

afterEach(async () => {
  await t.close();
  await remote.close();
});

describe("registerServer → connectToServer → discoverIfConnected", () => {
  it("stores without connecting, connects without discovering, then discovers", async () => {
    const agent = t.get<Stepper>("Stepper", "a");
    expect(await agent.register("docs", { url: remote.url, name: "Docs", transport: { type: "auto" } })).toBe("docs");
    expect(remote.sessionsOpened).toBe(0);
    expect(await agent.tools()).toEqual([]);

    expect(await agent.connect("docs")).toEqual({ state: "connected" });
    expect(remote.sessionsOpened).toBe(1);
    expect((await agent.states()).docs).toBe("connected");
    expect(await agent.tools()).toEqual([]); // nothing discovered yet
    // A connected server answers calls before discovery.
    expect(await agent.call("docs", "add", { a: 1, b: 2 })).toEqual({ content: [{ type: "text", text: "3" }] });

    expect(await agent.discover("docs")).toEqual({ success: true, state: "ready" });
    expect(await agent.tools()).toEqual(["docs/add", "docs/echo"]);
    expect(await agent.discover("nope")).toBeUndefined();
    expect(await agent.seen()).toEqual(["docs:connecting", "docs:connected", "docs:discovering", "docs:ready"]);
  });

  it("reports failure and authorization as results, and refuses unknown ids", async () => {
    const agent = t.get<Stepper>("Stepper", "a");
    await expect(agent.connect("ghost")).rejects.toThrow(/not registered\. Call registerServer\(\) first/);
    await agent.register("down", { url: "http://127.0.0.1:9/mcp", name: "Down" });
    const failed = await agent.connect("down");
    expect(failed.state).toBe("failed");
    expect((failed as { error: string }).error).toMatch(/fetch failed|ECONNREFUSED|connect/i);
    expect(await agent.discover("down")).toMatchObject({ success: false, state: "failed" });
  });

  it("is what addMcpServer does: the same name and URL resolve to the registered server", async () => {
    const agent = t.get<Stepper>("Stepper", "a");
    await agent.register("docs", { url: remote.url, name: "Docs" });
    // Registering again with the same id, name and URL changes nothing; another server may not take the id.
    expect(await agent.register("docs", { url: remote.url, name: "Docs" })).toBe("docs");
    await expect(agent.register("docs", { url: remote.sseUrl, name: "Other" })).rejects.toThrow(/"docs" is already used by "Docs"/);
    expect(await agent.add("Docs", remote.url)).toEqual({ id: "docs", state: "ready" });
    expect(Object.keys(await agent.states())).toEqual(["docs"]);
    expect(remote.sessionsOpened).toBe(1);
  });

  it("normalises the id as addMcpServer does, and refuses bad options clearly", async () => {
    const agent = t.get<Stepper>("Stepper", "a");
    expect(await agent.register("My Docs!", { url: remote.url, name: "Docs" })).toBe("my-docs");
    await expect(agent.register("x", { url: "ftp://example.com", name: "X" })).rejects.toThrow(/registerServer: the server URL must be http\(s\)/);
    await expect(agent.register("x", { url: remote.url, name: "" })).rejects.toThrow(/registerServer: name must be/);
    await expect(agent.register("x", { url: remote.url, name: "X", retry: { maxAttempts: 0 } })).rejects.toThrow(/retry.maxAttempts must be >= 1/);
    expect(Object.keys(await agent.states())).toEqual(["my-docs"]);
  });

  it("keeps registered servers across a restart, and connects them on wake", async () => {
    const agent = t.get<Stepper>("Stepper", "a");
    await agent.register("docs", { url: remote.url, name: "Docs" });
    await t.restart();
    const woken = t.get<Stepper>("Stepper", "a");
    expect(await woken.call("docs", "echo", { text: "back" })).toEqual({ content: [{ type: "text", text: "back" }] });
    expect((await woken.states()).docs).toBe("ready");
    expect(await woken.tools()).toEqual(["docs/add", "docs/echo"]);
  });
});

describe("retry", () => {
  it("gives up after maxAttempts failures in a row, and starts a new series when asked to connect", async () => {
    const agent = t.get<Stepper>("Stepper", "a");
    await agent.register("down", { url: "http://127.0.0.1:9/mcp", name: "Down", retry: { maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 0 } });
    await t.restart(); // the wake reconnects stored servers, retrying failures
    const woken = t.get<Stepper>("Stepper", "a");
    // Giving up is decided as the failure is recorded — no retry is armed then — and the error says so.
    const gaveUp = /gave up after 2 failed attempts in a row; connectToServer\(\) tries again/;
    await expect.poll(async () => (await woken.errors()).down ?? "", { timeout: 10_000 }).toMatch(gaveUp);
    expect(await woken.seen()).toEqual(["down:connecting", "down:failed", "down:connecting", "down:failed"]);

    // Asked to connect, it starts a new series: the first failure is retried, not the end.
    const again = await woken.connect("down");
    expect(again).toMatchObject({ state: "failed", error: expect.not.stringMatching(/gave up/) });
    await expect.poll(async () => (await woken.errors()).down ?? "", { timeout: 10_000 }).toMatch(gaveUp);
    expect((await woken.seen()).slice(4)).toEqual(["down:connecting", "down:failed", "down:connecting", "down:failed"]);
  });
});

describe("reconnecting a dropped server", () => {
  it.each([
    ["retry: { maxAttempts: 3 }", 3],
    ["retry: { maxAttempts: 1 }", 1],
  ])("makes exactly maxAttempts attempts after the drop (%s)", async (_label, maxAttempts) => {
    const agent = t.get<Stepper>("Stepper", "drop");
    await agent.register("flaky", { url: remote.url, name: "Flaky", retry: { maxAttempts, baseDelayMs: 1, maxDelayMs: 5 } });
    expect(await agent.connect("flaky")).toMatchObject({ state: "connected" });
    await agent.discover("flaky");
    expect((await agent.states()).flaky).toBe("ready");
    const before = (await agent.seen()).length;
    await remote.stop();
    const gaveUp = new RegExp(`gave up after ${maxAttempts} failed attempts in a row`);
    await expect.poll(async () => (await agent.errors()).flaky ?? "", { timeout: 10_000 }).toMatch(gaveUp);
    const after = (await agent.seen()).slice(before);
    // The drop itself, then one connecting/failed pair per attempt.
    expect(after).toEqual(["flaky:failed", ...Array.from({ length: maxAttempts }, () => ["flaky:connecting", "flaky:failed"]).flat()]);
  });
});

describe("onServerStateChanged", () => {
  it("tells every state change with the server's id and URL, the removal, and stops on dispose", async () => {
    const agent = t.get<Stepper>("Stepper", "a");
    const { id } = await agent.add("remote", remote.url);
    expect(await agent.seen()).toEqual([`${id}:connecting`, `${id}:connected`, `${id}:discovering`, `${id}:ready`]);
    await agent.remove(id);
    expect((await agent.seen()).at(-1)).toBe(`${id}:removed`);
    await agent.unsubscribe();
    const before = (await agent.seen()).length;
    await agent.add("remote", remote.url);
    expect((await agent.seen()).length).toBe(before);
  });

  it("broadcastMcpServers() sends the frame to connected clients on demand", async () => {
    const agent = t.get<Stepper>("Stepper", "a");
    await agent.register("docs", { url: remote.url, name: "Docs" });
    const socket = await TestSocket.open(`${(await t.url()).replace(/^http/, "ws")}/agents/stepper/a`);
    const frames = () => socket.frames.filter((f) => typeof f === "object" && (f as { type?: string }).type === "cf_agent_mcp_servers");
    await socket.waitForType("cf_agent_mcp_servers");
    expect(frames()).toHaveLength(1);
    await agent.broadcast();
    const deadline = Date.now() + 20_000; // generous: a loaded machine is slow, the test timeout is 30 s
    while (frames().length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(frames()[1]).toEqual(frames()[0]);
    socket.close();
  });
});
