/**
 * What a connection needs to start a new session when a Streamable HTTP server answers 404: whether
 * the 404 means the server forgot the session, and a count of the calls in flight on each SDK client,
 * so the client of the forgotten session is closed only after its last call.
 */
import type { Client } from "@modelcontextprotocol/client";
import { McpClientError } from "./errors.ts";
import { httpStatusOf } from "./operation.ts";
import type { McpTransport } from "./transport.ts";

/**
 * How a 404 to a request on `transport` is to be taken. The protocol gives it one meaning only for a
 * request that carried an `Mcp-Session-Id` (the SDK sends the id it holds on every request after the
 * handshake): the server no longer knows that session, and the client starts a new one. Any other 404
 * (no session was handed out, the URL serves no MCP endpoint) is an error of its own: a new session
 * would get the same answer.
 */
export function notFoundMeaning(error: unknown, transport: McpTransport | undefined): "session-expired" | "not-found" | undefined {
  if (httpStatusOf(error) !== 404) return undefined;
  return sessionIdOf(transport) === undefined ? "not-found" : "session-expired";
}

/** The error of a 404 to a request without a session id. */
export function notFoundError(target: { label: string; serverId: string }, url: string, what: string, cause: unknown): McpClientError {
  return new McpClientError(
    "connection",
    `${target.label} answered ${what} with HTTP 404 Not Found, and the request carried no session id: ${url} serves no MCP endpoint`,
    { serverId: target.serverId, cause },
  );
}

function sessionIdOf(transport: McpTransport | undefined): string | undefined {
  const id = (transport as { sessionId?: unknown } | undefined)?.sessionId;
  return typeof id === "string" && id !== "" ? id : undefined;
}

/**
 * The calls in flight on each client of a connection. Closing an SDK client rejects every request
 * still pending on it, so a client whose session the server forgot is retired instead: the calls
 * still running on it finish there (the server may well answer them), and it is closed after the last.
 */
export class ClientCalls {
  readonly #inFlight = new Map<Client, number>();
  readonly #retired = new Set<Client>();

  /** Runs `call` as one call on `client`. */
  async run<T>(client: Client, call: () => Promise<T>): Promise<T> {
    this.#inFlight.set(client, (this.#inFlight.get(client) ?? 0) + 1);
    try {
      return await call();
    } finally {
      const left = this.#inFlight.get(client)! - 1;
      if (left > 0) this.#inFlight.set(client, left);
      else {
        this.#inFlight.delete(client);
        if (this.#retired.delete(client)) void client.close().catch(() => {});
      }
    }
  }

  /** `client` takes no new calls: closed now if idle, else after its last call. */
  retire(client: Client): void {
    if (this.#inFlight.has(client)) this.#retired.add(client);
    else void client.close().catch(() => {});
  }

  /** Closes the retired clients still finishing calls (the connection itself is closing). */
  async closeRetired(): Promise<void> {
    const clients = [...this.#retired];
    this.#retired.clear();
    await Promise.all(clients.map((client) => client.close().catch(() => {})));
  }
}
