/**
 * Fibers: durable execution inside an agent (`runFiber`, `startFiber`, `stash`, `onFiberRecovered`).
 * The methods live on `Agent`; this module holds their machinery and public types.
 * @packageDocumentation
 */
export type {
  DeleteFibersOptions,
  FiberContext,
  FiberInspection,
  FiberRecoveryContext,
  FiberRecoveryResult,
  FiberStatus,
  ListFibersOptions,
  StartFiberOptions,
  StartFiberResult,
} from "./types.ts";
export { FIBER_LIMITS } from "./limits.ts";
