/** The push notification config operations: set (Create), get, list and delete. */
import { A2A_ERROR_CODES, A2AError, invalidParams, taskNotFound } from "./errors.ts";
import { pushConfigOut, pushListParams, pushRefParams, pushSetParams } from "./push-config.ts";
import type { StoredPushConfig } from "./store.ts";
import { addPush, checkPushUrl, type A2ACall, type A2AOutcome } from "./task-methods.ts";

function requirePush(call: A2ACall): void {
  if (!call.options.push) throw new A2AError(A2A_ERROR_CODES.pushNotificationNotSupported, "This agent does not send push notifications");
}

function requireTask(call: A2ACall, taskId: string): void {
  if (!call.runner.state.store.head(taskId)) throw taskNotFound(taskId);
}

export async function pushSet(call: A2ACall): Promise<A2AOutcome> {
  requirePush(call);
  const { taskId, config } = pushSetParams(call.params);
  requireTask(call, taskId);
  await checkPushUrl(call, config.url);
  addPush(call, taskId, config);
  return { result: pushConfigOut(call.runner.state.store.push(taskId, config.id)!, call.version) };
}

export function pushGet(call: A2ACall): A2AOutcome {
  requirePush(call);
  const { taskId, configId } = pushRefParams(call.params, call.version, false);
  requireTask(call, taskId);
  const { store } = call.runner.state;
  // v0.3 lets a client leave the config id out when the task has one config.
  const found: StoredPushConfig | undefined = configId === undefined ? store.pushes(taskId)[0] : store.push(taskId, configId);
  if (!found) throw invalidParams(`Task ${JSON.stringify(taskId)} has no push notification config${configId === undefined ? "" : ` ${JSON.stringify(configId)}`}`);
  return { result: pushConfigOut(found, call.version) };
}

export function pushList(call: A2ACall): A2AOutcome {
  requirePush(call);
  const taskId = pushListParams(call.params);
  requireTask(call, taskId);
  const configs = call.runner.state.store.pushes(taskId).map((stored) => pushConfigOut(stored, call.version));
  return { result: call.version === "1.0" ? { configs, nextPageToken: "" } : configs };
}

export function pushDelete(call: A2ACall): A2AOutcome {
  requirePush(call);
  const { taskId, configId } = pushRefParams(call.params, call.version, true);
  requireTask(call, taskId);
  // Deleting is idempotent (A2A §3.1.10): a config already gone is the state the client asked for.
  call.runner.state.store.deletePush(taskId, configId!);
  return { result: call.version === "1.0" ? {} : null };
}
