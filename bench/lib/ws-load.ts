/**
 * WebSocket RPC load generator, run in its own process by {@link runChild}. Opens `sockets` sockets
 * (socket i goes to agent `names[i % names.length]`), keeps `inflight` calls outstanding on each, and
 * counts completed round trips during `duration` seconds after `warmup` seconds.
 */
import WebSocket from "ws";
import { childMain } from "./common.ts";
import { measureWindow } from "./measured-window.ts";
import { openSockets, wsLoadResult, type WsLoadInput, type WsLoadResult } from "./ws-load-common.ts";

export type { WsLoadInput, WsLoadResult } from "./ws-load-common.ts";

interface Client {
  ws: WebSocket;
  sent: Map<string, bigint>;
  next: number;
}

function connect(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

async function run(input: WsLoadInput): Promise<WsLoadResult> {
  const argsJson = JSON.stringify(input.args);
  const methodJson = JSON.stringify(input.method);
  const { sockets, connectSeconds } = await openSockets(input, connect);
  const clients: Client[] = sockets.map((ws) => ({ ws, sent: new Map(), next: 0 }));

  let measuring = false;
  let stopped = false;
  let calls = 0;
  let errors = 0;
  let otherFrames = 0;
  const latencies: number[] = [];

  const send = (client: Client) => {
    const id = `c${client.next++}`;
    client.sent.set(id, process.hrtime.bigint());
    client.ws.send(`{"type":"rpc","id":"${id}","method":${methodJson},"args":${argsJson}}`);
  };

  for (const client of clients) {
    client.ws.on("message", (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as { type: string; id?: string; success?: boolean; done?: boolean };
      if (frame.type !== "rpc" || frame.id === undefined) {
        if (measuring) otherFrames++;
        return;
      }
      if (frame.done === false) return;
      const sentAt = client.sent.get(frame.id);
      client.sent.delete(frame.id);
      if (measuring) {
        calls++;
        if (!frame.success) errors++;
        if (sentAt !== undefined && (calls & 7) === 0) latencies.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
      }
      if (!stopped) send(client);
    });
  }
  for (const client of clients) for (let k = 0; k < input.inflight; k++) send(client);

  const window = await measureWindow(input, (on) => (measuring = on));
  stopped = true;

  await Promise.all(
    clients.map(
      ({ ws }) =>
        new Promise<void>((resolve) => {
          ws.once("close", () => resolve());
          ws.close(1000);
        }),
    ),
  );
  return wsLoadResult({ calls, errors, latencies, connectSeconds, otherFrames }, window);
}


childMain(run);
