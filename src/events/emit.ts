import { channelOf } from "./channels.ts";
import type { EventType, Observability, ObservabilityEvent, PayloadOf } from "./types.ts";

/**
 * The default `observability` of every agent: publishes each event on its `agents:*` diagnostics
 * channel. Silent (and free) while nobody subscribes. Handlers added with `subscribe()` are guarded
 * (their errors are logged); a handler added through `node:diagnostics_channel` itself
 * (`channels.x.subscribe(fn)`) must not throw: Node rethrows its error as an uncaught exception on the
 * next tick, which ends the process, out of this function's reach.
 * @example
 * class Audited extends Agent {
 *   observability = { emit: (event) => { audit(event); genericObservability.emit(event); } };
 * }
 */
export const genericObservability: Observability = {
  emit(event: ObservabilityEvent): void {
    const target = channelOf(event.type);
    if (target.hasSubscribers) target.publish(event);
  },
};

/** What an event is emitted from: an agent (its `name`, class and `observability`). */
type EventSource = object;

/**
 * Emits one event of `agent`, the way the SDK's `Agent._emit` does: `{ type, agent: <class name>,
 * name, payload, timestamp }` handed to `agent.observability.emit`. The payload is built only when
 * someone will see it: with the default observability, only when the event's channel has
 * subscribers; nothing at all when the agent set `observability = undefined`. A builder returning
 * `undefined` cancels the event (say, cancelling a schedule that does not exist). Never throws:
 * telemetry must not change the agent's behaviour (see {@link genericObservability} for the one case
 * it cannot cover: a raw diagnostics-channel handler that throws).
 * @example
 * emitAgentEvent(this, "rpc", () => ({ method }));
 */
export function emitAgentEvent<T extends EventType>(agent: EventSource, type: T, payload?: () => PayloadOf<T> | undefined): void {
  const sink = observabilityOf(agent);
  if (sink === undefined) return;
  if (sink === genericObservability && !channelOf(type).hasSubscribers) return;
  try {
    const built = payload === undefined ? {} : payload();
    if (built === undefined) return;
    sink.emit({ type, agent: classNameOf(agent), name: nameOf(agent), payload: built, timestamp: Date.now() } as ObservabilityEvent);
  } catch (error) {
    console.error(`[hearth] observability: emitting ${type} failed:`, error);
  }
}

/**
 * Whether an event of `type` from `agent` would go anywhere (its own observability, or a subscriber
 * of the channel). For hot paths: checking first spares even the payload builder's closure.
 * @example
 * if (wantsEvent(this, "rpc")) emitAgentEvent(this, "rpc", () => ({ method }));
 */
export function wantsEvent(agent: EventSource, type: EventType): boolean {
  const sink = observabilityOf(agent);
  return sink !== undefined && (sink !== genericObservability || channelOf(type).hasSubscribers);
}

/** The agent's `observability`: its own property when it has one (even `undefined`), else the default. */
function observabilityOf(agent: EventSource): Observability | undefined {
  if (!("observability" in agent)) return genericObservability;
  const sink = (agent as { observability?: unknown }).observability;
  if (sink === undefined || sink === null) return undefined;
  return typeof (sink as Observability).emit === "function" ? (sink as Observability) : undefined;
}

function classNameOf(agent: EventSource): string {
  return (Object.getPrototypeOf(agent) as { constructor: { name: string } }).constructor.name;
}

function nameOf(agent: EventSource): string | undefined {
  try {
    const name = (agent as { name?: unknown }).name;
    return typeof name === "string" ? name : undefined;
  } catch {
    return undefined;
  }
}
