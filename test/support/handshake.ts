import { request } from "node:http";

/** What a WebSocket handshake got back: the status and the headers of the response. */
export interface Handshake {
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Sends a WebSocket upgrade request to `url` (http: or ws:) offering `protocols`, and returns the
 * answer's status and headers as they came over the wire; the connection is then dropped.
 * @example const { headers } = await handshake(`${harness.url}/room`, ["a", "b"]); headers["sec-websocket-protocol"]
 */
export function handshake(url: string, protocols: readonly string[] = []): Promise<Handshake> {
  const headers: Record<string, string> = {
    Connection: "Upgrade",
    Upgrade: "websocket",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
  };
  if (protocols.length > 0) headers["Sec-WebSocket-Protocol"] = protocols.join(", ");
  return new Promise((resolve, reject) => {
    const sent = request(url.replace(/^ws/, "http"), { headers });
    sent.once("upgrade", (response, socket) => {
      socket.destroy();
      resolve({ status: response.statusCode ?? 0, headers: response.headers });
    });
    sent.once("response", (response) => {
      response.resume();
      resolve({ status: response.statusCode ?? 0, headers: response.headers });
    });
    sent.once("error", reject);
    sent.end();
  });
}
