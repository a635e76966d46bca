import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";

/** Builds a web-standard Request from Node's IncomingMessage. */
export function toRequest(incoming: IncomingMessage, origin: string, signal?: AbortSignal): Request {
  const headers = new Headers();
  const raw = incoming.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const method = incoming.method ?? "GET";
  // A body stream only when there can be a body: wrapping every POST costs more than the request.
  const hasBody =
    method !== "GET" &&
    method !== "HEAD" &&
    (incoming.headers["transfer-encoding"] !== undefined || Number(incoming.headers["content-length"] ?? 0) > 0);
  const target = incoming.url ?? "/";
  return new Request(target.startsWith("/") ? origin + target : target, {
    method,
    headers,
    body: hasBody ? (Readable.toWeb(incoming) as ReadableStream<Uint8Array>) : null,
    signal: signal ?? null,
    // Required by fetch for streaming request bodies.
    duplex: hasBody ? "half" : undefined,
  } as RequestInit);
}

/** Writes a web-standard Response to Node's ServerResponse, streaming the body with backpressure. */
export async function writeResponse(response: Response, outgoing: ServerResponse): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, key) => {
    if (key !== "set-cookie") headers[key] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  outgoing.writeHead(response.status, response.statusText || undefined, headers);
  if (response.body === null) {
    outgoing.end();
    return;
  }
  const reader = response.body.getReader();
  const abort = () => void reader.cancel().catch(() => {});
  outgoing.once("close", abort);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!outgoing.write(value)) await new Promise<void>((resolve) => outgoing.once("drain", resolve));
      if (outgoing.destroyed) break;
    }
    outgoing.end();
  } catch (error) {
    outgoing.destroy(error instanceof Error ? error : new Error(String(error)));
  } finally {
    outgoing.off("close", abort);
  }
}

/** Writes a Response on a raw socket (an upgrade request that was refused) and closes it. */
export async function writeRawResponse(response: Response, socket: NodeJS.WritableStream & { destroy(): void }): Promise<void> {
  const body = Buffer.from(await response.arrayBuffer());
  const lines = [`HTTP/1.1 ${response.status} ${response.statusText || statusText(response.status)}`];
  response.headers.forEach((value, key) => {
    if (key !== "content-length" && key !== "connection") lines.push(`${key}: ${value}`);
  });
  lines.push(`content-length: ${body.length}`, "connection: close", "", "");
  socket.write(lines.join("\r\n"));
  socket.end(body);
}

function statusText(status: number): string {
  const known: Record<number, string> = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable" };
  return known[status] ?? "Error";
}
