import { subscribe as subscribeChannel, unsubscribe as unsubscribeChannel } from "node:diagnostics_channel";
import { channelName, type ChannelEvents, type ChannelKey } from "./channels.ts";

/**
 * Calls `callback` with every event published on one `agents:*` channel, typed by the channel; the
 * same function as the SDK's `subscribe` from `agents/observability`.
 * @returns a function that stops the subscription.
 * @example
 * import { subscribe } from "agents/observability";
 * const stop = subscribe("rpc", (event) => console.log(event.payload.method));
 * stop();
 */
export function subscribe<K extends ChannelKey>(channelKey: K, callback: (event: ChannelEvents[K]) => void): () => void {
  const name = channelName(channelKey);
  const handler = (message: unknown): void => callback(message as ChannelEvents[K]);
  subscribeChannel(name, handler);
  return () => {
    unsubscribeChannel(name, handler);
  };
}

/**
 * Accepted for code written for Cloudflare, where it bridges OpenTelemetry onto Workers tracing.
 * Hearth's traces use `@opentelemetry/api` directly, so there is nothing to bridge: it does nothing.
 * @example
 * experimental_registerOpenTelemetry(); // a no-op on Hearth
 */
export function experimental_registerOpenTelemetry(): void {}
