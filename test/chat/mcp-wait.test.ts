/**
 * `waitForMcpConnections`: by default a turn waits (up to 10 s) for the MCP servers the agent mounted
 * to finish connecting, so `this.mcp.getAITools()` is complete in onChatMessage; `false` does not
 * wait. The server is real (the official SDK, on loopback) behind a proxy that holds its requests.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import type { ChatFinishCallback, OnChatMessageOptions } from "../../src/chat/index.ts";
import { toRequest, writeResponse } from "../../src/gateway/node-adapter.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { startRemoteServer, type RemoteServer } from "../mcp/fixtures/remote-server.ts";
import { Chat, resetWorld, world } from "./fixture.ts";
import { ChatClient, scriptedModel, textStream, until, userMessage, type Frame } from "./helpers.ts";

/** The MCP tools onChatMessage saw, per turn. */
const toolsSeen: string[][] = [];

class McpChat extends Chat {
  async onChatMessage(onFinish: ChatFinishCallback, options: OnChatMessageOptions) {
    toolsSeen.push(Object.keys(this.mcp.getAITools()).sort());
    return super.onChatMessage(onFinish, options);
  }

  /** Mounts the server without waiting for it: it is still connecting when the test goes on. */
  mount(url: string): void {
    void this.addMcpServer("remote", url).catch(() => {});
  }
}

class EagerChat extends McpChat {
  waitForMcpConnections = false;
}

/** A proxy in front of the MCP server that holds every request until `open()`. */
async function heldProxy(target: string): Promise<{ url: string; arrived: () => number; open: () => void; close: () => Promise<void> }> {
  let release!: () => void;
  const opened = new Promise<void>((resolve) => (release = resolve));
  let arrived = 0;
  const server: Server = createServer((incoming, outgoing) => {
    arrived++;
    void (async () => {
      await opened;
      const request = toRequest(incoming, "http://127.0.0.1");
      const forwarded = await fetch(new URL(new URL(request.url).pathname, target), {
        method: request.method,
        headers: request.headers,
        ...(request.body ? { body: request.body, duplex: "half" } : {}),
      } as RequestInit);
      await writeResponse(forwarded, outgoing);
    })().catch(() => outgoing.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    arrived: () => arrived,
    open: release,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let t: TestEnv | undefined;
let remote: RemoteServer | undefined;
let proxy: Awaited<ReturnType<typeof heldProxy>> | undefined;
afterEach(async () => {
  proxy?.open();
  await t?.close();
  await proxy?.close();
  await remote?.close();
  t = undefined;
  proxy = undefined;
  remote = undefined;
  toolsSeen.length = 0;
});

async function setUp(binding: string, name: string): Promise<ChatClient> {
  remote = await startRemoteServer();
  proxy = await heldProxy(remote.url);
  resetWorld(scriptedModel(textStream("done")));
  t = await createTestEnv({ agents: { McpChat, EagerChat }, time: "system" });
  await t.get<McpChat>(binding, name).mount(proxy.url);
  await until(() => proxy!.arrived() > 0, "the MCP server connecting");
  return ChatClient.open((await t.url()).replace(/^http/, "ws"), name, "", binding === "McpChat" ? "mcp-chat" : "eager-chat");
}

/** A round trip on the socket: every frame sent before it has been handled by the agent. */
async function handled(client: ChatClient, marker: string): Promise<void> {
  client.socket.send(marker);
  await client.socket.waitFor((f: Frame | string) => typeof f === "object" && f.type === "echo" && f.message === marker);
}

describe("waitForMcpConnections", () => {
  test("default: onChatMessage waits until the connecting server is ready, and sees its tools", async () => {
    const client = await setUp("McpChat", "m1");
    const id = client.send([userMessage("u1", "use your tools")]);
    await handled(client, "request in");
    expect(world.options).toHaveLength(0);
    proxy!.open();
    await client.done(id);
    expect(toolsSeen).toHaveLength(1);
    expect(toolsSeen[0]!.map((name) => name.split("_").pop())).toEqual(["add", "echo"]);
    client.close();
  });

  test("false: onChatMessage runs at once, before the server is ready", async () => {
    const client = await setUp("EagerChat", "m2");
    const id = client.send([userMessage("u1", "use your tools")]);
    await client.done(id);
    expect(toolsSeen).toEqual([[]]);
    client.close();
  });
});
