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

/**
 * Writes `data` on a fresh connection to `127.0.0.1:port` and returns every byte that came back,
 * once the server closed the connection or `enough` says so (the socket is then closed here).
 * @example await rawExchange(port, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
 */
export function rawExchange(port: number, data: string | Buffer, enough?: (received: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    const finish = () => {
      socket.destroy();
      resolve(Buffer.concat(chunks));
    };
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      if (enough?.(Buffer.concat(chunks))) finish();
    });
    socket.on("error", (error: NodeJS.ErrnoException) => (error.code === "ECONNRESET" ? finish() : reject(error)));
    socket.on("close", finish);
    socket.write(typeof data === "string" ? Buffer.from(data, "latin1") : data);
  });
}

export interface ParsedResponse {
  status: number;
  /** Each header line as sent, name lowercased: `[name, value]`, in order (repeated names kept). */
  lines: Array<[string, string]>;
  /** The body's bytes, unchunked. */
  body: Buffer;
}

/**
 * The responses in `bytes`, one after the other (pipelined), framed by their content-length or
 * chunks; those at the indices in `heads` (answers to HEAD), a 204 and a 304 have no body whatever
 * their headers say.
 */
export function parseResponses(bytes: Buffer, heads: readonly number[] = []): ParsedResponse[] {
  const responses: ParsedResponse[] = [];
  let at = 0;
  while (at < bytes.length) {
    const split = bytes.indexOf("\r\n\r\n", at);
    if (split === -1) break;
    const [statusLine = "", ...headerLines] = bytes.toString("latin1", at, split).split("\r\n");
    const lines = headerLines.map((line): [string, string] => [line.slice(0, line.indexOf(":")).toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]);
    const header = (name: string) => lines.find(([key]) => key === name)?.[1];
    at = split + 4;
    const status = Number(statusLine.split(" ")[1]);
    let body: Buffer = Buffer.alloc(0);
    if (heads.includes(responses.length) || status === 204 || status === 304) {
      // no body
    } else if (header("transfer-encoding") === "chunked") {
      const parts: Buffer[] = [];
      for (;;) {
        const end = bytes.indexOf("\r\n", at);
        const size = parseInt(bytes.toString("latin1", at, end), 16);
        at = end + 2;
        if (!size) {
          at += 2;
          break;
        }
        parts.push(bytes.subarray(at, at + size));
        at += size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      const length = Number(header("content-length") ?? bytes.length - at);
      body = bytes.subarray(at, at + length);
      at += length;
    }
    responses.push({ status, lines, body });
  }
  return responses;
}
