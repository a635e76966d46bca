/** Sandboxes for code Hearth did not ship, and the Dynamic Workers loader on top of them. */
export { Sandbox, SandboxError, type SandboxLimits, type SandboxOptions, type RunResult, type LogLevel, type OutboundHandler } from "./sandbox.ts";
export { WorkerLoader, WorkerError, type WorkerCode, type WorkerStub, type WorkerEntrypoint, type WorkerLoaderOptions } from "./loader.ts";
export type { SandboxExtension, NestedCall } from "./extension.ts";
export type { LoadedDurableObjectClass, DurableObjectClassOptions } from "./loaded-class.ts";
export { EngineError, type SandboxEngine, type EngineContext, type EngineContextOptions, type EngineHost, type Budget, type LimitName } from "./engine.ts";
export { QuickJSEngine, quickJSEngine, inThreadEngine } from "./quickjs-engine.ts";
export { WorkerPoolEngine, workerPoolEngine, type WorkerPoolOptions, type PoolWorkerInfo } from "./pool/pool.ts";
