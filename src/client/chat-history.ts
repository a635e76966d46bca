import type { UIMessage } from "ai";
import { agentUrl, type AgentFetchOptions } from "./agent-fetch.ts";

/**
 * Where {@link getAgentMessages} reads a chat agent's transcript: the agent's
 * address, or the full URL of its `get-messages` endpoint.
 *
 * @example
 * ```ts
 * const byAddress: AgentMessagesOptions = { host: "127.0.0.1:8787", agent: "Chat", name: "support" };
 * const byUrl: AgentMessagesOptions = { url: "https://chat.example.com/agents/chat/support/get-messages" };
 * ```
 */
export type AgentMessagesOptions = (
  | Omit<AgentFetchOptions, "path" | "query" | "fetch">
  | { url: string }
) & {
  credentials?: RequestCredentials;
  headers?: HeadersInit;
  /** The `fetch` implementation to use; defaults to the global one. */
  fetch?: typeof fetch;
};

/**
 * The agent, or the worker in front of it, answered a history request with
 * an error status (a refused token, a server error): not an empty transcript.
 */
export class AgentMessagesError extends Error {
  override name = "AgentMessagesError";
  /** The HTTP status of the answer. */
  readonly status: number;
  constructor(status: number, statusText: string) {
    // Without the URL: its query may carry a token.
    super(`The chat history request was answered ${status}${statusText ? ` ${statusText}` : ""}`);
    this.status = status;
  }
}

/**
 * Reads the stored transcript of a chat agent (`GET …/get-messages`), for a
 * first render before the WebSocket is up or outside React. Resolves with
 * `[]` when the agent answers with an error or an empty body.
 *
 * @example
 * ```ts
 * const messages = await getAgentMessages({ host: "127.0.0.1:8787", agent: "Chat", name: "support" });
 * console.log(messages.length);
 * ```
 */
export async function getAgentMessages<M extends UIMessage = UIMessage>(options: AgentMessagesOptions): Promise<M[]> {
  try {
    return await fetchAgentMessages<M>(options);
  } catch (error) {
    if (error instanceof AgentMessagesError) return [];
    throw error;
  }
}

/**
 * {@link getAgentMessages}, but an error status rejects with
 * {@link AgentMessagesError}: `useAgentChat` must not show a refused request
 * as an empty transcript in place of the messages it has.
 *
 * @example
 * ```ts
 * const messages = await fetchAgentMessages({ url: "https://chat.example.com/agents/chat/support/get-messages?token=t" });
 * ```
 */
export async function fetchAgentMessages<M extends UIMessage = UIMessage>(options: AgentMessagesOptions): Promise<M[]> {
  const url = "url" in options ? options.url : agentUrl({ ...options, path: "get-messages" });
  const response = await (options.fetch ?? fetch)(url, { credentials: options.credentials, headers: options.headers });
  if (!response.ok) {
    await response.body?.cancel();
    throw new AgentMessagesError(response.status, response.statusText);
  }
  const text = await response.text();
  if (text.trim() === "") return [];
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? (value as M[]) : [];
}
