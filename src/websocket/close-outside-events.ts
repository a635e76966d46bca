import { AsyncLocalStorage } from "node:async_hooks";
import type { WebSocket as NetworkSocket } from "ws";

/** Runs a function in the context at module load: outside any actor's event. */
const outsideEvents = AsyncLocalStorage.snapshot();

/**
 * `ws.close(code, reason)` outside any event: the timer `ws` arms at a close (to drop a peer that
 * never answers) is the connection's, not that of the actor whose event closed it
 * (host/actor-timers.ts). Throws what `ws` throws for a code or reason it refuses.
 */
export function closeOutsideEvents(ws: NetworkSocket, code: number | undefined, reason: string | undefined): void {
  outsideEvents(() => ws.close(code, reason));
}
