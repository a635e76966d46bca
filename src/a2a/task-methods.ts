/**
 * The task operations of the endpoint: send (blocking or not), stream, get, list, cancel and
 * subscribe. Each takes the call's params and answers a JSON-RPC result or an SSE response.
 */
import { listen, type A2AAgentState } from "./agent-state.ts";
import { A2A_ERROR_CODES, A2AError, invalidParams, taskNotFound } from "./errors.ts";
import { DEFAULT_PAGE_SIZE } from "./limits.ts";
import type { ResolvedServerOptions } from "./options.ts";
import { pushConfigIn } from "./push-config.ts";
import { checkPushDestination } from "./push-delivery.ts";
import type { TaskRunner } from "./task-runner.ts";
import { taskStream, type JsonRpcId } from "./task-stream.ts";
import { INTERRUPTED_STATES, isFinalState, TERMINAL_STATES, type A2APushConfig, type A2AProtocolVersion, type A2ATask } from "./types.ts";
import { idIn, isRecord, messageIn, stateIn, taskOut } from "./wire.ts";

type Json = Record<string, unknown>;

/** One JSON-RPC call, as the operations see it. */
export interface A2ACall {
  runner: TaskRunner;
  options: ResolvedServerOptions;
  version: A2AProtocolVersion;
  params: Json;
  rpcId: JsonRpcId;
  request: Request;
}

/** What an operation answers: a JSON-RPC result, or a response of its own (a stream). */
export type A2AOutcome = { result: unknown } | { response: Response };

export async function send(call: A2ACall, streaming: boolean): Promise<A2AOutcome> {
  const { runner, params, version } = call;
  const { state } = runner;
  const message = messageIn(params.message, "params.message");
  if (message.role !== "user") throw invalidParams("params.message.role must be user: a client speaks as the user");
  const configuration = optionalRecord(params.configuration, "params.configuration");
  const historyLength = optionalCount(configuration.historyLength, "params.configuration.historyLength");
  const blocking = configuration.returnImmediately !== true && configuration.blocking !== false;
  const push = await pushFromConfiguration(call, configuration);

  // A message id seen before names its task: nothing starts again.
  let taskId = state.store.taskOfMessage(message.messageId);
  const stream = (id: string) => taskStream({ state, taskId: id, version, rpcId: call.rpcId, keepAliveMs: call.options.limits.sseKeepAliveMs });
  let response: Response | undefined;
  if (taskId === undefined) {
    if (message.taskId !== undefined) {
      const id = (taskId = message.taskId);
      checkContinuation(state, id, message.contextId);
      if (push) addPush(call, id, push);
      // The task moves first: a stream starts from it working, not from the question it asked.
      runner.continue(id, message);
    } else {
      const id = (taskId = runner.create(message).id);
      if (push) addPush(call, id, push);
      // The stream starts from the task as submitted, so it carries every event of its execution.
      if (streaming) response = stream(id);
      runner.start(id, message, false);
    }
  }
  if (streaming) return { response: response ?? stream(taskId) };
  if (blocking) await untilFinal(state, taskId, call.request.signal);
  const task = current(state, taskId);
  const body = taskOut(task, version, historyLength === undefined ? {} : { historyLength });
  return { result: version === "1.0" ? { task: body } : body };
}

export function get(call: A2ACall): A2AOutcome {
  const id = idIn(call.params.id, "params.id");
  const historyLength = optionalCount(call.params.historyLength, "params.historyLength");
  return { result: taskOut(current(call.runner.state, id), call.version, historyLength === undefined ? {} : { historyLength }) };
}

export function cancel(call: A2ACall): A2AOutcome {
  const task = call.runner.cancel(idIn(call.params.id, "params.id"));
  return { result: taskOut(task, call.version) };
}

/** Tasks newest first, `pageSize` (default 50) at a time; `nextPageToken` continues, "" at the end. */
export function list(call: A2ACall): A2AOutcome {
  const { params, version } = call;
  const max = call.options.limits.maxPageSize;
  const pageSize = optionalCount(params.pageSize ?? params.limit, "params.pageSize") ?? DEFAULT_PAGE_SIZE;
  if (pageSize < 1 || pageSize > max) throw invalidParams(`params.pageSize must be between 1 and ${max} (maxPageSize), got ${pageSize}`);
  const token = params.pageToken ?? params.cursor;
  // What a proto3 serialiser sends for a field not set ("", UNSPECIFIED, null) filters nothing.
  const contextId = unset(params.contextId) ? undefined : params.contextId;
  const status = [params.status, params.state].find((value) => !unset(value) && value !== "TASK_STATE_UNSPECIFIED");
  const filters = {
    ...(contextId !== undefined ? { contextId: idIn(contextId, "params.contextId") } : {}),
    ...(status !== undefined ? { state: stateIn(status, "params.status") } : {}),
    ...(params.statusTimestampAfter !== undefined ? { updatedAfter: timestampIn(params.statusTimestampAfter, "params.statusTimestampAfter") } : {}),
  };
  const before = unset(token) ? undefined : decodeToken(token);
  const rows = call.runner.state.store.list({ ...filters, ...(before ? { before } : {}), limit: pageSize + 1 });
  const page = rows.slice(0, pageSize);
  const last = page.at(-1);
  const historyLength = optionalCount(params.historyLength, "params.historyLength") ?? 0;
  const artifacts = params.includeArtifacts === true;
  return {
    result: {
      tasks: page.map((row) => taskOut(row.task, version, { historyLength, artifacts })),
      nextPageToken: rows.length > pageSize && last ? encodeToken(last.updatedAt, last.position) : "",
      pageSize,
      totalSize: call.runner.state.store.count(filters),
    },
  };
}

/**
 * Follows a task over SSE. With `Last-Event-ID` (the seq of the last event seen) the events after it
 * are replayed first, even for a task that has ended since; without it the stream starts with the
 * task as it is, and a task in a terminal state is refused (-32004), as the spec says.
 */
export function subscribe(call: A2ACall): A2AOutcome {
  const { state } = call.runner;
  const id = idIn(call.params.id ?? call.params.taskId, "params.id");
  const task = current(state, id);
  const header = call.request.headers.get("last-event-id");
  let afterSeq: number | undefined;
  if (header !== null && header.trim() !== "") {
    if (!/^\d{1,15}$/.test(header.trim())) throw invalidParams(`Last-Event-ID must be the seq of an event this agent sent (a number), got ${JSON.stringify(header)}`);
    afterSeq = Number(header.trim());
  } else if (TERMINAL_STATES.has(task.status.state)) {
    throw new A2AError(A2A_ERROR_CODES.unsupportedOperation, `Task ${JSON.stringify(id)} is ${task.status.state}: there is nothing to subscribe to (GetTask returns it)`, {
      taskId: id,
      state: task.status.state,
    });
  }
  return { response: taskStream({ state, taskId: id, version: call.version, rpcId: call.rpcId, keepAliveMs: call.options.limits.sseKeepAliveMs, ...(afterSeq !== undefined ? { afterSeq } : {}) }) };
}

function current(state: A2AAgentState, id: string): A2ATask {
  const stored = state.store.get(id);
  if (!stored) throw taskNotFound(id);
  return stored.task;
}

/** A message naming a task may continue it only while the task waits for the client. */
function checkContinuation(state: A2AAgentState, taskId: string, contextId: string | undefined): void {
  const task = current(state, taskId);
  if (contextId !== undefined && contextId !== task.contextId) {
    throw invalidParams(`params.message.contextId ${JSON.stringify(contextId)} is not the context of task ${JSON.stringify(taskId)} (${JSON.stringify(task.contextId)})`);
  }
  const taskState = task.status.state;
  if (TERMINAL_STATES.has(taskState)) {
    throw new A2AError(A2A_ERROR_CODES.unsupportedOperation, `Task ${JSON.stringify(taskId)} is ${taskState}: a task in a terminal state takes no more messages`, { taskId, state: taskState });
  }
  if (!INTERRUPTED_STATES.has(taskState)) {
    throw new A2AError(A2A_ERROR_CODES.unsupportedOperation, `Task ${JSON.stringify(taskId)} is ${taskState}: send the next message when it asks for input`, { taskId, state: taskState });
  }
}

async function pushFromConfiguration(call: A2ACall, configuration: Json): Promise<A2APushConfig | undefined> {
  const raw = configuration.pushNotificationConfig ?? configuration.taskPushNotificationConfig;
  if (raw === undefined || raw === null) return undefined;
  if (!call.options.push) throw new A2AError(A2A_ERROR_CODES.pushNotificationNotSupported, "This agent does not send push notifications");
  const config = pushConfigIn(raw, "params.configuration.pushNotificationConfig");
  await checkPushUrl(call, config.url);
  return config;
}

/** Refuses a push URL the policy does not allow, as invalid params naming the reason. */
export async function checkPushUrl(call: A2ACall, url: string): Promise<void> {
  try {
    await checkPushDestination(url, call.options.push?.allowPrivate === true);
  } catch (error) {
    throw invalidParams(`Push notification URL refused: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Stores a push target of a task, within the per-task limit. */
export function addPush(call: A2ACall, taskId: string, config: A2APushConfig): void {
  const { store } = call.runner.state;
  const max = call.options.limits.maxPushConfigsPerTask;
  if (!store.push(taskId, config.id) && store.pushes(taskId).length >= max) {
    throw invalidParams(`Task ${JSON.stringify(taskId)} has ${max} push notification configs, the limit (maxPushConfigsPerTask)`);
  }
  store.putPush(taskId, config, call.version, call.runner.state.runtime.clock.now());
}

/** Resolves once the task is in a final state (terminal, or waiting for the client), or the client went away. */
function untilFinal(state: A2AAgentState, taskId: string, gone: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      stop();
      gone.removeEventListener("abort", done);
      resolve();
    };
    const stop = listen(state, taskId, (_seq, event) => {
      if (event.kind === "status" && event.final) done();
    });
    gone.addEventListener("abort", done, { once: true });
    const head = state.store.head(taskId);
    if (!head || isFinalState(head.state) || gone.aborted) done();
  });
}

function unset(value: unknown): boolean {
  return value === undefined || value === null || value === "";
}

function optionalRecord(value: unknown, field: string): Json {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw invalidParams(`${field} must be an object`);
  return value;
}

function optionalCount(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Number.isInteger(value) || (value as number) < 0) throw invalidParams(`${field} must be a whole number >= 0, got ${JSON.stringify(value)}`);
  return value as number;
}

function timestampIn(value: unknown, field: string): number {
  const ms = typeof value === "string" ? Date.parse(value) : typeof value === "number" ? value : Number.NaN;
  if (!Number.isFinite(ms)) throw invalidParams(`${field} must be an ISO 8601 timestamp, got ${JSON.stringify(value)}`);
  return ms;
}

function encodeToken(updatedAt: number, position: number): string {
  return Buffer.from(JSON.stringify([updatedAt, position])).toString("base64url");
}

function decodeToken(token: unknown): { updatedAt: number; position: number } {
  const refuse = () => invalidParams("params.pageToken is not a token this agent gave (use nextPageToken from the previous page)");
  if (typeof token !== "string" || token.length > 1024) throw refuse();
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (Array.isArray(parsed) && typeof parsed[0] === "number" && Number.isSafeInteger(parsed[1])) return { updatedAt: parsed[0], position: parsed[1] as number };
  } catch {
    // fall through
  }
  throw refuse();
}
