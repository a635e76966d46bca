/**
 * What `ws.send(value)` puts on the wire, as the Workers runtime converts its argument: strings as
 * text, ArrayBuffers and views of one as binary (a copy of the bytes the view covers), any other value
 * as the text of its string form; a Symbol is a TypeError.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DurableObject, WebSocketPair, type DurableObjectNamespace, type WorkersWebSocket } from "../../src/index.ts";
import { upgradeResponse } from "../durable-object/helpers.ts";
import { startHarness, type Harness } from "../support/harness.ts";

/** The values sent for each message, by its text. */
const VALUES: Record<string, () => unknown[]> = {
  text: () => ["plain"],
  binary: () => {
    const bytes = new Uint8Array([1, 2, 3, 4, 5]);
    return [bytes.buffer, bytes.subarray(1, 3), new DataView(bytes.buffer, 3, 2), Buffer.from([9])];
  },
  other: () => [42, null, undefined, { a: 1 }, new Blob(["hello"]), true, 10n],
};

class Sender extends DurableObject {
  fetch(): Response {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return upgradeResponse(client);
  }

  webSocketMessage(ws: WorkersWebSocket, message: string | ArrayBuffer): void {
    const text = String(message);
    if (text === "symbol") {
      try {
        ws.send(Symbol("nope") as never);
      } catch (error) {
        ws.send(`${(error as Error).name}: ${(error as Error).message}`);
      }
      return;
    }
    if (text === "changed after send") {
      // The frame leaves after the event's commit: it must carry the bytes as they were at send().
      const bytes = new Uint8Array([7, 7]);
      ws.send(bytes);
      bytes.fill(0);
      return;
    }
    for (const value of VALUES[text]!()) ws.send(value as string);
    ws.send("end");
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** A client that records each frame as `text:…` or `binary:<hex>`, unparsed. */
interface Recorder {
  socket: WebSocket;
  frames: string[];
}

async function open(): Promise<Recorder> {
  harness = await startHarness(
    {},
    {
      durableObjects: { SENDERS: Sender },
      fetch: (request, env) => (env.SENDERS as DurableObjectNamespace).getByName("s").fetch(request),
    },
  );
  const socket = new WebSocket(`${harness.wsUrl}/`);
  socket.binaryType = "arraybuffer";
  const frames: string[] = [];
  socket.addEventListener("message", ({ data }) => {
    frames.push(typeof data === "string" ? `text:${data}` : `binary:${Buffer.from(data as ArrayBuffer).toString("hex")}`);
  });
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  return { socket, frames };
}

/** The frames that answer `message`, up to the first that `last` matches (itself included). */
async function framesFor(client: Recorder, message: string, last: (frame: string) => boolean = (frame) => frame === "text:end"): Promise<string[]> {
  const from = client.frames.length;
  client.socket.send(message);
  while (!client.frames.slice(from).some(last)) await new Promise((resolve) => setTimeout(resolve, 5));
  return client.frames.slice(from);
}

describe("ws.send() of each kind of value", () => {
  it("sends strings as text", async () => {
    const client = await open();
    expect(await framesFor(client, "text")).toEqual(["text:plain", "text:end"]);
  });

  it("sends ArrayBuffers, typed arrays, DataViews and Buffers as binary, only the bytes a view covers", async () => {
    const client = await open();
    expect(await framesFor(client, "binary")).toEqual(["binary:0102030405", "binary:0203", "binary:0405", "binary:09", "text:end"]);
  });

  it("sends any other value as the text of its string form, as the Workers runtime does", async () => {
    const client = await open();
    expect(await framesFor(client, "other")).toEqual(
      ["42", "null", "undefined", "[object Object]", "[object Blob]", "true", "10", "end"].map((text) => `text:${text}`),
    );
  });

  it("refuses a Symbol with a TypeError", async () => {
    const client = await open();
    const [answer] = await framesFor(client, "symbol", () => true);
    expect(answer).toMatch(/^text:TypeError: .*Symbol/);
  });

  it("sends the bytes as they were at send(), though the frame leaves after the event's commit", async () => {
    const client = await open();
    expect(await framesFor(client, "changed after send", () => true)).toEqual(["binary:0707"]);
  });
});
