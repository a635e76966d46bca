/**
 * Hearth: stateful agents as addressable actors, each with its own SQLite database, synced state,
 * WebSockets that survive hibernation, and RPC — served from one Node process.
 * @packageDocumentation
 */
export { Agent, type ConnectionContext, type StateSource } from "./platform/agent.ts";
export { callable, type CallableOptions, type CallableList, type StandardSchema } from "./agent/callable.ts";
export { Connection } from "./agent/connection.ts";
export { getCurrentAgent, type CurrentAgent, type AgentCaller } from "./agent/context.ts";
export type { AgentStaticOptions } from "./agent/options.ts";
export type { RetryCallOptions } from "./agent/retry.ts";
export { StreamingResponse } from "./agent/rpc.ts";
export type { AgentContext, AgentStorage } from "./agent/runtime.ts";
export { Host, type HostOptions, type AgentClass, type TaskErrorReport } from "./platform/host.ts";
export { ActorHost, type ActorHostOptions } from "./host/host.ts";
export type { TimedWork, TimedWorkHost, TimedEntry } from "./host/timed-work.ts";
export type {
  Schedule,
  ScheduleType,
  ScheduleOptions,
  ScheduleCriteria,
  QueueItem,
  RetryOptions,
  TaskFailure,
} from "./schedule/types.ts";
export { systemClock, VirtualClock, type Clock } from "./time/clock.ts";
export * from "./workflow/index.ts";
export {
  Sandbox,
  SandboxError,
  WorkerLoader,
  WorkerError,
  type SandboxLimits,
  type SandboxOptions,
  type RunResult,
  type OutboundHandler,
  type WorkerCode,
  type WorkerStub,
  type WorkerEntrypoint,
  type SandboxExtension,
  type NestedCall,
  type LoadedDurableObjectClass,
  type DurableObjectClassOptions,
} from "./sandbox/index.ts";
export { AgentNamespace, getAgentByName, type AgentStub, type AgentId, type GetAgentOptions } from "./host/namespace.ts";
export { AgentNameError } from "./host/names.ts";
export {
  DurableObject,
  DurableObjectState,
  DurableObjectNamespace,
  DurableObjectId,
  type DurableObjectStub,
  type DurableObjectGetOptions,
  type AlarmInvocationInfo,
} from "./durable-object/index.ts";
export { WebSocketPair, WebSocketRequestResponsePair, installWorkersGlobals, type WorkersWebSocket } from "./websocket/index.ts";
export { DurableObjectFacets, MAX_FACET_DEPTH, MAX_FACET_NAME_LENGTH, type FacetStartupOptions, type FacetStub } from "./facets/index.ts";
export {
  routeSubAgentRequest,
  getSubAgentByName,
  buildAgentPath,
  buildAgentUrl,
  type AgentPathStep,
  type BuildAgentPathOptions,
  type SubAgentClass,
  type SubAgentInfo,
  type SubAgentStub,
} from "./sub-agents/index.ts";
export { routeAgentRequest, type RouteOptions, type Lobby, type BeforeHook } from "./gateway/route.ts";
export { serve, type ServeOptions } from "./platform/serve.ts";
export type { HearthServer, WorkerFetch, ExecutionContext } from "./gateway/serve.ts";
export type { RequestMetrics, RequestOutcome } from "./gateway/request-metrics.ts";
export type { AgentCorsOption, CorsOption } from "./gateway/cors.ts";
export { SqlCursor, SqlStorage, type SqlValue, type SqlRow, type SqlResult, type SqlStorageValue } from "./storage/sql.ts";
export { KvStorage, type KvListOptions } from "./storage/kv.ts";
export { SqlError, StorageClosedError } from "./storage/errors.ts";
export { LIMITS, type Durability } from "./limits.ts";
export {
  routeAgentEmail,
  isAutoReplyEmail,
  parseEmailHeaders,
  getEmailHeader,
  hasEmailHeader,
  hasAnyEmailHeader,
  getAllEmailHeaders,
  EmailMessage,
  EmailError,
  type AgentEmail,
  type ForwardableEmailMessage,
  type SendEmail,
  type SendEmailOptions,
  type ReplyToEmailOptions,
  type EmailSendResult,
} from "./email/index.ts";
export {
  FIBER_LIMITS,
  type FiberContext,
  type FiberStatus,
  type FiberInspection,
  type FiberRecoveryContext,
  type FiberRecoveryResult,
  type StartFiberOptions,
  type StartFiberResult,
  type ListFibersOptions,
  type DeleteFibersOptions,
} from "./fiber/index.ts";
export { defineConfig, type HearthConfig } from "./config/index.ts";
// The class-based worker base is `WorkerEntrypoint` from "cloudflare:workers" (hearth's own name is taken by the Dynamic Worker entrypoint type).
export { RpcTarget } from "./worker/entrypoint.ts";
export {
  KvNamespace,
  openKvNamespace,
  KV_LIMITS,
  type KvNamespaceOptions,
  type KvGetOptions,
  type KvPutOptions,
  type KvGetWithMetadataResult,
  type KvListKey,
  type KvListResult,
} from "./kv/index.ts";
export { RateLimiter, RateLimitStore, openRateLimitStore, type RateLimiterConfig, type RateLimitOutcome, type RateLimitOptions } from "./ratelimit/index.ts";
export {
  D1Database,
  D1PreparedStatement,
  D1DatabaseSession,
  openD1Database,
  d1DatabasePath,
  D1_LIMITS,
  type D1Result,
  type D1Meta,
  type D1ExecResult,
  type D1Value,
} from "./d1/index.ts";
export {
  QueueStore,
  QueueProducer,
  QueueConsumers,
  openQueueStore,
  createQueueProducers,
  QUEUE_LIMITS,
  type Message,
  type MessageBatch,
  type MessageSendRequest,
  type QueueSendOptions,
  type QueueSendBatchOptions,
} from "./queues/index.ts";
export { CronTriggers, type ScheduledController } from "./cron/index.ts";
export { createAssetRouter, type AssetRouter, type AssetsBinding } from "./assets/index.ts";
export { SecretsStoreSecret, openSecretStore, type SecretStore } from "./secrets/index.ts";
