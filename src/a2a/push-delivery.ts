/**
 * Push notifications, delivered durably: each status change of a task with push targets queues one
 * `hearth:a2a.push` task per target in the agent's own task queue, so a notification survives a
 * restart and is retried with backoff. The target's address is checked when it is registered and
 * again when each notification is sent (DNS may have changed); redirects are never followed.
 */
import { HANDLE } from "../agent/agent-base.ts";
import { assertPublicDestination } from "../integrations/address-guard.ts";
import { createGuardedFetch, type GuardedFetch } from "../integrations/guarded-fetch.ts";
import { registerTaskHandler } from "../schedule/task-handlers.ts";
import type { RetryOptions } from "../time/backoff.ts";
import { a2aState, type A2AAgentState } from "./agent-state.ts";
import type { A2APushConfig } from "./types.ts";
import { taskOut } from "./wire.ts";

/** The feature task that sends one notification. */
export const PUSH_TASK = "hearth:a2a.push";

/** How notifications are sent. */
export interface PushPolicy {
  /** Send to loopback and private addresses too (tests, a private network). */
  allowPrivate: boolean;
  /** An attempt without an answer after this long fails (ms). */
  timeoutMs: number;
  retry: Required<RetryOptions>;
}

/** What a queued notification carries: which target, and how to send (the policy of the endpoint that queued it). */
interface PushPayload {
  taskId: string;
  configId: string;
  seq: number;
  allowPrivate: boolean;
  timeoutMs: number;
}

interface QueueingAgent {
  [HANDLE.tasks](): { queue(callback: string, payload: unknown, options?: { retry?: RetryOptions }): string };
}

/** Queues a notification to every push target of the task (for the status change logged at `seq`). */
export function queuePushes(state: A2AAgentState, taskId: string, seq: number, policy: PushPolicy | undefined): void {
  if (!policy) return;
  const targets = state.store.pushes(taskId);
  if (targets.length === 0) return;
  const agent = state.agent as Partial<QueueingAgent>;
  const tasks = agent[HANDLE.tasks];
  if (typeof tasks !== "function") throw new TypeError("Push notifications need an Agent (its task queue delivers them)");
  for (const target of targets) {
    const payload: PushPayload = { taskId, configId: target.config.id, seq, allowPrivate: policy.allowPrivate, timeoutMs: policy.timeoutMs };
    tasks.call(agent).queue(PUSH_TASK, payload, { retry: policy.retry });
  }
}

/**
 * Checks a push target's address: refused when it resolves to a loopback, private, link-local or
 * otherwise non-public address, unless `allowPrivate`.
 */
export async function checkPushDestination(url: string, allowPrivate: boolean): Promise<void> {
  await assertPublicDestination(url, { allowPrivate });
}

/** One guarded fetch per policy: it checks the address again when sending (and, with undici, when connecting). */
const fetchers = new Map<boolean, GuardedFetch>();
function guardedFetch(allowPrivate: boolean): GuardedFetch {
  let fetcher = fetchers.get(allowPrivate);
  if (!fetcher) fetchers.set(allowPrivate, (fetcher = createGuardedFetch({ allowPrivate, maxRedirects: 0 })));
  return fetcher;
}

registerTaskHandler(PUSH_TASK, async (agent, raw) => {
  const payload = raw as PushPayload;
  const { store } = a2aState(agent);
  const target = store.push(payload.taskId, payload.configId);
  const stored = store.get(payload.taskId);
  if (!target || !stored) return; // deleted since: nothing to send
  // A later change queued a notification of its own, which reports the task as it is then: this one
  // would only say the same twice.
  if (store.statusChangedAfter(payload.taskId, payload.seq)) return;
  // The task as it is now: a retried notification reports the latest state, never an older one.
  const body = target.version === "1.0" ? { task: taskOut(stored.task, "1.0") } : taskOut(stored.task, "0.3");
  await sendNotification(target.config, body, payload);
});

async function sendNotification(config: A2APushConfig, body: unknown, payload: PushPayload): Promise<void> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (config.token !== undefined) headers["x-a2a-notification-token"] = config.token;
  if (config.authentication) {
    const { scheme, credentials } = config.authentication;
    headers.authorization = credentials === undefined ? scheme : `${scheme} ${credentials}`;
  }
  const response = await guardedFetch(payload.allowPrivate)(config.url, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
    redirect: "manual",
    signal: AbortSignal.timeout(payload.timeoutMs),
  });
  await response.body?.cancel().catch(() => {});
  // The origin only: a push URL's path often carries the receiver's secret, and this message is logged.
  const origin = new URL(config.url).origin;
  if (response.status >= 300 && response.status < 400) {
    throw new Error(`Push notification to ${origin} was answered with a redirect (HTTP ${response.status}); redirects are not followed`);
  }
  if (!response.ok) throw new Error(`Push notification to ${origin} failed: HTTP ${response.status}`);
}
