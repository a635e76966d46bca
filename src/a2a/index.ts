/**
 * A2A: any agent or team served as an A2A endpoint (v1.0 method names and v0.3's, the agent card,
 * streaming, tasks stored durably with replay on resubscribe, push notifications guarded against
 * private addresses), and a remote A2A agent as a team member.
 */
export { handleA2ARequest } from "./server.ts";
export type { A2AServerOptions } from "./options.ts";
export { memberExecutor, teamExecutor, messageInput, outputParts, type ExecutorOptions, type StartableTeam } from "./member-executor.ts";
export { A2AClient, toMessage, type A2AClientOptions, type A2AMessageInput, type A2ASendOptions, type A2AStreamItem } from "./client.ts";
export { a2aMember, type A2AMemberOptions, type A2AResult } from "./remote-member.ts";
export { A2AError, A2A_ERROR_CODES } from "./errors.ts";
export { DEFAULT_A2A_LIMITS, type A2ALimits } from "./limits.ts";
export { METHOD_NAMES } from "./methods.ts";
export { PUSH_TASK } from "./push-delivery.ts";
export { readSse, type SseEvent } from "./sse-reader.ts";
export {
  INTERRUPTED_STATES,
  TERMINAL_STATES,
  isFinalState,
  type A2AAgentCard,
  type A2AArtifact,
  type A2AArtifactInput,
  type A2ACardInput,
  type A2AExecutionContext,
  type A2AExecutor,
  type A2AMessage,
  type A2APart,
  type A2AProtocolVersion,
  type A2APushConfig,
  type A2ASkill,
  type A2AStreamEvent,
  type A2ATask,
  type A2ATaskState,
  type A2ATaskStatus,
  type A2AUpdate,
} from "./types.ts";
