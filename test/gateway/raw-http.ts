/** Requests written byte for byte on a TCP socket: headers fetch and node:http would not send as given. */
import { connect } from "node:net";
import { networkInterfaces } from "node:os";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends `GET target` (or `method`) with exactly `headers` (no Host unless given) to `host:port` over
 * a fresh connection and reads the whole answer (`connection: close`).
 * @example await rawRequest("127.0.0.1", port, "/url", [["Host", "app.example.com"]])
 */
export function rawRequest(host: string, port: number, target: string, headers: Array<[string, string]>, method = "GET"): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const split = text.indexOf("\r\n\r\n");
      if (split === -1) return reject(new Error(`No response (got ${JSON.stringify(text)})`));
      const [statusLine = "", ...lines] = text.slice(0, split).split("\r\n");
      const parsed: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        parsed[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      let body = text.slice(split + 4);
      if (parsed["transfer-encoding"] === "chunked") body = unchunk(body);
      resolve({ status: Number(statusLine.split(" ")[1]), headers: parsed, body: Buffer.from(body, "latin1").toString("utf8") });
    });
    const head = [`${method} ${target} HTTP/1.1`, ...headers.map(([name, value]) => `${name}: ${value}`), "Connection: close", "", ""].join("\r\n");
    socket.end(head, "latin1");
  });
}

function unchunk(body: string): string {
  let out = "";
  for (let at = 0; ; ) {
    const end = body.indexOf("\r\n", at);
    const size = parseInt(body.slice(at, end), 16);
    if (!size) return out;
    out += body.slice(end + 2, end + 2 + size);
    at = end + 2 + size + 2;
  }
}

/** An IPv4 address of this machine that is not loopback (a peer connecting to it is not loopback), if any. */
export function externalIPv4(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === "IPv4" && !address.internal) return address.address;
  }
  return undefined;
}
