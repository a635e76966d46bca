import { channel, type Channel } from "node:diagnostics_channel";
import type { EventType, ObservabilityEvent } from "./types.ts";

/**
 * The diagnostics channels of the Agents SDK, by key: `agents:<key>` except `agentTool`, which is
 * `agents:agent_tool`. Subscribing with `node:diagnostics_channel` to one of these names sees Hearth's
 * events exactly as it would see Cloudflare's.
 * @example
 * import { channels } from "hearth/observability";
 * channels.rpc.subscribe((event) => console.log(event));
 */
export const channels = {
  state: channel("agents:state"),
  rpc: channel("agents:rpc"),
  message: channel("agents:message"),
  chat: channel("agents:chat"),
  transcript: channel("agents:transcript"),
  fiber: channel("agents:fiber"),
  task: channel("agents:task"),
  stream: channel("agents:stream"),
  agentTool: channel("agents:agent_tool"),
  schedule: channel("agents:schedule"),
  lifecycle: channel("agents:lifecycle"),
  workflow: channel("agents:workflow"),
  mcp: channel("agents:mcp"),
  email: channel("agents:email"),
  channel: channel("agents:channel"),
} as const satisfies Record<string, Channel>;

/** A channel key, as `subscribe` takes it. */
export type ChannelKey = keyof typeof channels;

/** The diagnostics channel name of a key (`agentTool` is `agents:agent_tool`). */
export function channelName(key: ChannelKey): string {
  return key === "agentTool" ? "agents:agent_tool" : `agents:${key}`;
}

/** Which channel an event type is published on: the same routing as the SDK's, by type prefix. */
export function channelKeyOf(type: string): ChannelKey {
  const prefix = type.slice(0, type.indexOf(":") + 1);
  if (type.startsWith("chat:transcript:")) return "transcript";
  if (type === "rpc") return "rpc";
  return PREFIXES[prefix] ?? "lifecycle";
}

const PREFIXES: Record<string, ChannelKey> = {
  "mcp:": "mcp",
  "workflow:": "workflow",
  "fiber:": "fiber",
  "task:": "task",
  "stream:": "stream",
  "transcript:": "transcript",
  "chat:": "chat",
  "agent_tool:": "agentTool",
  "schedule:": "schedule",
  "queue:": "schedule",
  "message:": "message",
  "tool:": "message",
  "submission:": "message",
  "action:": "message",
  "rpc:": "rpc",
  "state:": "state",
  "email:": "email",
  "channel:": "channel",
  "notice:": "channel",
};

/** The events published on each channel. */
export interface ChannelEvents {
  state: Extract<ObservabilityEvent, { type: `state:${string}` }>;
  rpc: Extract<ObservabilityEvent, { type: "rpc" | `rpc:${string}` }>;
  message: Extract<ObservabilityEvent, { type: `message:${string}` | `tool:${string}` }>;
  chat: Exclude<Extract<ObservabilityEvent, { type: `chat:${string}` }>, { type: `chat:transcript:${string}` }>;
  transcript: Extract<ObservabilityEvent, { type: `chat:transcript:${string}` }>;
  fiber: Extract<ObservabilityEvent, { type: `fiber:${string}` }>;
  task: never;
  stream: never;
  agentTool: never;
  schedule: Extract<ObservabilityEvent, { type: `schedule:${string}` | `queue:${string}` }>;
  lifecycle: Extract<ObservabilityEvent, { type: "connect" | "disconnect" | "destroy" }>;
  workflow: Extract<ObservabilityEvent, { type: `workflow:${string}` }>;
  mcp: Extract<ObservabilityEvent, { type: `mcp:${string}` }>;
  email: Extract<ObservabilityEvent, { type: `email:${string}` }>;
  channel: never;
}

/** The channel object an event type goes to. */
export function channelOf(type: EventType): Channel {
  return channels[channelKeyOf(type)];
}
