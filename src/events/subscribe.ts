import { subscribe as subscribeChannel, unsubscribe as unsubscribeChannel } from "node:diagnostics_channel";
import { channelName, type ChannelEvents, type ChannelKey } from "./channels.ts";

/** Error kinds (name and message) logged per subscriber; past this many, its new kinds go unlogged. */
const LOGGED_KINDS_PER_SUBSCRIBER = 32;

/**
 * Calls `callback` with every event published on one `agents:*` channel, typed by the channel; the
 * same function as the SDK's `subscribe` from `agents/observability`.
 *
 * A callback that throws does not reach the agent nor the process: `node:diagnostics_channel` would
 * rethrow a subscriber's error as an uncaught exception on the next tick (ending the process), so the
 * error is caught here and logged — once per subscriber per kind of error (its name and message; at
 * most 32 kinds per subscriber), not at every event. Later events still reach the callback.
 * Subscribing through `node:diagnostics_channel` directly (`channels.rpc.subscribe(fn)`) gets no such
 * guard: such a handler must not throw.
 * @returns a function that stops the subscription.
 * @example
 * import { subscribe } from "agents/observability";
 * const stop = subscribe("rpc", (event) => console.log(event.payload.method));
 * stop();
 */
export function subscribe<K extends ChannelKey>(channelKey: K, callback: (event: ChannelEvents[K]) => void): () => void {
  const name = channelName(channelKey);
  const logged = new Set<string>();
  const handler = (message: unknown): void => {
    try {
      callback(message as ChannelEvents[K]);
    } catch (error) {
      reportSubscriberError(name, logged, error);
    }
  };
  subscribeChannel(name, handler);
  return () => {
    unsubscribeChannel(name, handler);
  };
}

/** Logs a subscriber's error unless one of the same kind was logged for it already. */
function reportSubscriberError(channel: string, logged: Set<string>, error: unknown): void {
  try {
    const kind = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    if (logged.has(kind) || logged.size >= LOGGED_KINDS_PER_SUBSCRIBER) return;
    logged.add(kind);
    console.error(`[hearth] observability: a subscriber of ${channel} threw (the event went on; errors like this one of this subscriber are not logged again):`, error);
  } catch {
    // An error whose message cannot be read (a throwing getter): nothing more to do.
  }
}

/**
 * Accepted for code written for Cloudflare, where it bridges OpenTelemetry onto Workers tracing.
 * Hearth's traces use `@opentelemetry/api` directly, so there is nothing to bridge: it does nothing.
 * @example
 * experimental_registerOpenTelemetry(); // a no-op on Hearth
 */
export function experimental_registerOpenTelemetry(): void {}
