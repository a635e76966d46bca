import { setTimeout } from "node:timers"; // the runtime's own: never an actor's timer (host/actor-timers.ts)
/**
 * Waits for `work` to settle or for `ms` to pass, whichever comes first; the timer is cleared either
 * way, so it never holds the process open. A rejection of `work` within the time is thrown on.
 * Shutdown paths use it: wait for what is under way, but not forever.
 * @example
 * await waitAtMost(whenFilesSettled(), 10_000);
 */
export async function waitAtMost(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
