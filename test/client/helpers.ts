import { getAgentByName } from "../../src/index.ts";
import type { Agent } from "../../src/index.ts";
import type { AgentNamespace } from "../../src/host/namespace.ts";

/** A queue of values pushed by callbacks, read in order by a test. */
export class Inbox<T> {
  readonly #items: T[] = [];
  readonly #waiters: Array<(value: T) => void> = [];
  /** Everything received so far, including values already taken. */
  readonly seen: T[] = [];

  push = (value: T): void => {
    this.seen.push(value);
    const waiter = this.#waiters.shift();
    if (waiter) waiter(value);
    else this.#items.push(value);
  };

  /** The next value, waiting for it if none is queued. */
  next(): Promise<T> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift() as T);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Skips values until one matches. */
  async until(match: (value: T) => boolean): Promise<T> {
    for (;;) {
      const value = await this.next();
      if (match(value)) return value;
    }
  }
}

/** A fresh instance name per test, so tests never share an agent. */
export function uniqueName(label: string): string {
  return `${label}-${crypto.randomUUID()}`;
}

/** Names that must survive the trip to the server and back unchanged. */
export const AWKWARD_NAMES = [
  "héllo wörld",
  "日本語/テスト",
  "emoji 🎉 party",
  "a/b",
  "../x",
  "a/../b",
  "...",
  "q?x=1#frag",
  "100%",
  "%2F",
  "plus+sign & amp",
  " leading and trailing ",
  "x".repeat(1000),
];

/**
 * A worker's own routing by session: `/me?user=…` reaches the `Desk` instance `user-{user}`, so
 * one URL leads to different instances (as `basePath` clients see it). Other paths: undefined.
 */
export async function routeBySession(request: Request, env: Record<string, unknown>): Promise<Response | undefined> {
  const url = new URL(request.url);
  if (url.pathname !== "/me") return undefined;
  const desk = await getAgentByName(env.Desk as AgentNamespace<Agent>, `user-${url.searchParams.get("user")}`);
  return desk.fetch(request);
}
