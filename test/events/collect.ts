import { channels, subscribe, type ChannelKey, type ObservabilityEvent } from "../../src/events/index.ts";

/** Events seen on every `agents:*` channel (through `subscribe`), with the channel each came on. */
export interface Collected {
  readonly events: Array<ObservabilityEvent & { channel: ChannelKey }>;
  /** Events of one instance, as `[type, payload]` pairs, in order. */
  of(name: string): Array<[string, unknown]>;
  stop(): void;
}

export function collect(): Collected {
  const events: Collected["events"] = [];
  const stops = (Object.keys(channels) as ChannelKey[]).map((key) =>
    subscribe(key, (event: ObservabilityEvent) => events.push({ ...event, channel: key })),
  );
  return {
    events,
    of: (name) => events.filter((event) => event.name === name).map((event) => [event.type, event.payload]),
    stop: () => stops.forEach((stop) => stop()),
  };
}
