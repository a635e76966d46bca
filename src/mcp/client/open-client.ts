/**
 * Opening an SDK client on a mounted server: the client (its capabilities and handlers), the
 * transports to try in order (`auto`: Streamable HTTP, then the legacy SSE transport when the server
 * answers 4xx), the `initialize` handshake bounded by `connectTimeoutMs`, and what the client's
 * later errors mean.
 */
import type { Client } from "@modelcontextprotocol/client";
import { answerElicitation, clientCapabilities } from "./elicitation.ts";
import { McpClientError, clip, messageOf } from "./errors.ts";
import type { McpClientLimits } from "./limits.ts";
import { loadedModules } from "./modules.ts";
import { httpStatusOf, isProtocolViolation, runOperation, violationCause, violationText, type OperationTarget } from "./operation.ts";
import type { ServerRecord } from "./store.ts";
import { transportOrder, type McpTransport, type TransportKind } from "./transport.ts";
import type { ClientCapabilities, McpElicitationHandlers } from "./types.ts";

/** What opening a client needs from the connection that opens it. */
export interface ClientOpening extends OperationTarget {
  readonly record: ServerRecord;
  readonly limits: McpClientLimits;
  /** The transport that worked last time (tried first under `auto`). */
  readonly workedBefore: TransportKind | undefined;
  /** This attempt handed the user an authorization URL: that is the outcome, no other transport is tried. */
  redirected(): boolean;
  /** A new transport of `kind` to this server. */
  transport(kind: TransportKind): Promise<McpTransport>;
  /** A new SDK client with this server's capabilities and handlers. */
  client(): Client;
  /** The handshake of `client` succeeded. */
  opened(client: Client): void;
}

/**
 * A connected client on the first transport that works.
 * @example
 * const { client, transport, kind } = await openClient(connection);
 */
export async function openClient(opening: ClientOpening): Promise<{ client: Client; transport: McpTransport; kind: TransportKind }> {
  const [first, second] = transportOrder(opening.record.transport, opening.workedBefore);
  try {
    return { ...(await handshake(opening, first)), kind: first };
  } catch (error) {
    const status = httpStatusOf(error);
    const clientError = status !== undefined && status >= 400 && status < 500 && status !== 401;
    if (second === undefined || opening.redirected() || !clientError) throw error;
    try {
      return { ...(await handshake(opening, second)), kind: second };
    } catch (again) {
      if (opening.redirected()) throw again;
      throw new McpClientError("connection", `${opening.label}: ${first} failed (${messageOf(error)}), then ${second} failed: ${messageOf(again)}`, {
        serverId: opening.serverId,
        cause: again,
      });
    }
  }
}

async function handshake(opening: ClientOpening, kind: TransportKind): Promise<{ client: Client; transport: McpTransport }> {
  const transport = await opening.transport(kind);
  const client = opening.client();
  try {
    await runOperation(opening, { what: "initialize", timeoutMs: opening.limits.connectTimeoutMs, limitName: "connectTimeoutMs" }, (request) =>
      client.connect(transport, request),
    );
  } catch (error) {
    await client.close().catch(() => {});
    throw error;
  }
  opening.opened(client);
  return { client, transport };
}

/**
 * An SDK client announcing `stored` capabilities, else the modes that have an elicitation handler,
 * and answering `elicitation/create` with them (the SDKs must be loaded).
 */
export function newClient(
  clientInfo: { name: string; version: string },
  stored: ClientCapabilities | undefined,
  handlers: McpElicitationHandlers,
  serverId: string,
): Client {
  const { sdk } = loadedModules()!;
  const capabilities = clientCapabilities(stored, handlers);
  const client = new sdk.Client(clientInfo, { capabilities });
  if (capabilities.elicitation) client.setRequestHandler("elicitation/create", (request) => answerElicitation(handlers, request, serverId));
  return client;
}

/** Calls `rediscover` when the server says its tools, prompts or resources changed. */
export function onListChanged(client: Client, rediscover: () => void): void {
  client.setNotificationHandler("notifications/tools/list_changed", rediscover);
  client.setNotificationHandler("notifications/prompts/list_changed", rediscover);
  client.setNotificationHandler("notifications/resources/list_changed", rediscover);
}

/**
 * What an error the SDK client reports outside a request means: an invalid message fails the call
 * it arrived in (or, in none, drops the connection); a dropped SSE stream fails the call waiting on
 * it; the transport giving up reconnecting drops the connection. Undefined: nothing to do.
 */
export function clientErrorMeaning(
  error: Error,
  target: { label: string; serverId: string },
): { error: McpClientError | Error; failsCall: boolean; losesConnection: boolean } | undefined {
  const { label, serverId } = target;
  const text = messageOf(error);
  if (isProtocolViolation(error)) {
    const violation = new McpClientError("protocol", `${label} sent an invalid JSON-RPC message: ${violationText(error)}`, { serverId, cause: violationCause(error) });
    return { error: violation, failsCall: true, losesConnection: true };
  }
  if (text.startsWith("SSE stream disconnected")) {
    return { error: new McpClientError("connection", `${label} dropped the connection: ${clip(text)}`, { serverId, cause: error }), failsCall: true, losesConnection: false };
  }
  if (/^Maximum reconnection attempts|^Failed to reconnect/.test(text)) return { error, failsCall: false, losesConnection: true };
  return undefined;
}
