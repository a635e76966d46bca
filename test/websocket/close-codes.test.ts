/**
 * Close codes a Durable Object's WebSocket may send over the network: each one reaches the client in
 * a close frame, and a code that cannot be sent is refused at close() with the socket left open.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { DurableObject, WebSocketPair, type DurableObjectNamespace } from "../../src/index.ts";
import { endOf } from "../../src/websocket/socket.ts";
import { upgradeResponse } from "../durable-object/helpers.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";

class Closer extends DurableObject {
  fetch(): Response {
    const { 0: client, 1: server } = new WebSocketPair();
    server.accept();
    server.addEventListener("message", (event) => {
      const [verb, code] = String((event as MessageEvent).data).split(" ");
      try {
        if (verb === "close") server.close(Number(code), "bye");
        // Past close()'s checks, as the host's own closes go: the network must not be left half-closed.
        else if (verb === "raw") endOf(server).close(Number(code), "bye");
      } catch (error) {
        server.send(`refused: ${(error as Error).message}`);
        return;
      }
    });
    return upgradeResponse(client);
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function open(name: string): Promise<TestSocket> {
  harness = await startHarness(
    {},
    {
      durableObjects: { CLOSERS: Closer },
      fetch: (request: Request, env: Record<string, unknown>) => (env.CLOSERS as DurableObjectNamespace).getByName(name).fetch(request),
    },
  );
  return TestSocket.open(`${harness.wsUrl}/closers/${name}`);
}

describe("ws.close(code) over the network", () => {
  it("sends the close frame for codes 1000–1003, 1007–1014 and 3000–4999", async () => {
    for (const code of [1000, 1003, 1007, 1012, 1014, 3000, 4999]) {
      const socket = await open(`ok-${code}`);
      socket.send(`close ${code}`);
      expect(await socket.waitClosed()).toEqual({ code, reason: "bye" });
      await harness!.close();
      harness = undefined;
    }
  });

  it("refuses 1016–2999 at close(), naming the codes it sends, and the socket stays usable", async () => {
    const socket = await open("reserved");
    for (const code of [1016, 2000, 2999]) {
      socket.send(`close ${code}`);
      const refused = (await socket.waitFor((frame) => frame === `refused: ${refusal(code)}`)) as string;
      expect(refused).toContain("1000–1003, 1007–1014 and 3000–4999");
    }
    socket.send("close 4000");
    expect(await socket.waitClosed()).toEqual({ code: 4000, reason: "bye" });
  });

  it("drops the connection rather than leave it half-closed when a close frame cannot be sent", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const socket = await open("raw");
    socket.send("raw 2000");
    expect((await socket.waitClosed()).code).toBe(1006);
    logged.mockRestore();
  });
});

function refusal(code: number): string {
  return `Invalid WebSocket close code: ${code}. Hearth sends 1000–1003, 1007–1014 and 3000–4999; 1016–2999 are reserved by RFC 6455 (Cloudflare accepts them, but clients may take them for a protocol error).`;
}
