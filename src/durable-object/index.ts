/**
 * Plain Durable Objects on Hearth's actor host.
 * @module
 */
export { DurableObject } from "./durable-object.ts";
export { DurableObjectState } from "./state.ts";
export { DurableObjectNamespace, type DurableObjectStub, type DurableObjectGetOptions } from "./namespace.ts";
export { DurableObjectId } from "./id.ts";
export type { AlarmInvocationInfo } from "./alarm.ts";
