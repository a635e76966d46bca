/**
 * Hearth's `agents/observability`: the Agents SDK's `agents:*` diagnostics channels, event shapes and
 * `subscribe`, so subscribers written for Cloudflare work unchanged.
 * @example
 * import { subscribe } from "agents/observability";
 * subscribe("schedule", (event) => console.log(event.type, event.payload.callback));
 */
export { channels, channelName, channelKeyOf, type ChannelEvents, type ChannelKey } from "./channels.ts";
export { emitAgentEvent, genericObservability, wantsEvent } from "./emit.ts";
export { experimental_registerOpenTelemetry, subscribe } from "./subscribe.ts";
export type { BaseEvent, EventPayloads, EventType, MCPObservabilityEvent, Observability, ObservabilityEvent, PayloadOf } from "./types.ts";
export { workflowControlEvent } from "./workflow-events.ts";
export { emailReceived, emailReplied, emailSent } from "./email-events.ts";
export { emitMcpEvents } from "./mcp-events.ts";
export { emitChatFrame, emitChatResult } from "./chat-events.ts";
