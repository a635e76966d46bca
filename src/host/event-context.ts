import { AsyncLocalStorage } from "node:async_hooks";

/**
 * The event (request, message, RPC…) whose code is running, followed across awaits. Storage uses it
 * as the owner of the implicit transaction, so one event's failure undoes only its own writes.
 */
export const eventContext = new AsyncLocalStorage<object>();

export const currentEvent = (): object | undefined => eventContext.getStore();
