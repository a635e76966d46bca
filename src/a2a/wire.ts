/**
 * A2A objects to and from the wire, per protocol version. v0.3 has `kind` discriminators, lowercase
 * states and roles, and file parts nested under `file`; v1.0 has `TASK_STATE_*` / `ROLE_*`, one part
 * shape (`text | data | url | raw`) and stream events wrapped by member name (`statusUpdate`, …).
 * Input of either shape is accepted; output is in the shape of the version asked for.
 */
import { A2A_ERROR_CODES, A2AError, invalidParams } from "./errors.ts";
import { MAX_ID_LENGTH } from "./limits.ts";
import type { A2AArtifact, A2AMessage, A2APart, A2AProtocolVersion, A2AStreamEvent, A2ATask, A2ATaskState, A2ATaskStatus } from "./types.ts";

type Json = Record<string, unknown>;

const V1_STATES: Record<A2ATaskState, string> = {
  submitted: "TASK_STATE_SUBMITTED",
  working: "TASK_STATE_WORKING",
  "input-required": "TASK_STATE_INPUT_REQUIRED",
  "auth-required": "TASK_STATE_AUTH_REQUIRED",
  completed: "TASK_STATE_COMPLETED",
  failed: "TASK_STATE_FAILED",
  canceled: "TASK_STATE_CANCELED",
  rejected: "TASK_STATE_REJECTED",
};
const STATES_IN = new Map<string, A2ATaskState>();
for (const [state, v1] of Object.entries(V1_STATES) as Array<[A2ATaskState, string]>) {
  STATES_IN.set(state, state);
  STATES_IN.set(v1, state);
}
STATES_IN.set("cancelled", "canceled");

/** An error in something a client sent (-32602), or, reading a remote agent's answer, -32006. */
type Fail = (message: string) => A2AError;
const badParams: Fail = invalidParams;
/** Failure for what a remote agent sent back (used by the client). */
export const badResponse: Fail = (message) => new A2AError(A2A_ERROR_CODES.invalidAgentResponse, `Invalid agent response: ${message}`);

export function isRecord(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optString(value: unknown, field: string, fail: Fail, max = Infinity): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw fail(`${field} must be a string`);
  if (value.length > max) throw fail(`${field} is longer than ${max} characters`);
  return value;
}

function optRecord(value: unknown, field: string, fail: Fail): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw fail(`${field} must be an object`);
  return value;
}

function optStrings(value: unknown, field: string, fail: Fail): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) throw fail(`${field} must be an array of strings`);
  return value as string[];
}

/** An id a client may choose (message, task, context, push config): 1-256 characters. */
export function idIn(value: unknown, field: string, fail: Fail = badParams): string {
  if (typeof value !== "string" || value.length === 0) throw fail(`${field} is required (a non-empty string)`);
  if (value.length > MAX_ID_LENGTH) throw fail(`${field} is longer than ${MAX_ID_LENGTH} characters`);
  return value;
}

export function stateIn(value: unknown, field: string, fail: Fail = badParams): A2ATaskState {
  const state = typeof value === "string" ? STATES_IN.get(value) : undefined;
  if (!state) throw fail(`${field} is not a task state: ${JSON.stringify(value)}`);
  return state;
}

export function stateOut(state: A2ATaskState, version: A2AProtocolVersion): string {
  return version === "1.0" ? V1_STATES[state] : state;
}

function roleIn(value: unknown, field: string, fail: Fail): "user" | "agent" {
  if (value === "user" || value === "ROLE_USER") return "user";
  if (value === "agent" || value === "ROLE_AGENT") return "agent";
  throw fail(`${field} must be "user" or "agent" (or ROLE_USER / ROLE_AGENT), got ${JSON.stringify(value)}`);
}

export function partIn(value: unknown, field: string, fail: Fail = badParams): A2APart {
  if (!isRecord(value)) throw fail(`${field} must be an object`);
  const mediaType = optString(value.mediaType ?? value.mimeType, `${field}.mediaType`, fail);
  const filename = optString(value.filename, `${field}.filename`, fail);
  const metadata = optRecord(value.metadata, `${field}.metadata`, fail);
  const common: Omit<A2APart, "text" | "data" | "url" | "raw"> = {
    ...(mediaType !== undefined ? { mediaType } : {}),
    ...(filename !== undefined ? { filename } : {}),
    ...(metadata ? { metadata } : {}),
  };
  if (typeof value.text === "string") return { text: value.text, ...common };
  if (value.kind === "text") throw fail(`${field}.text must be a string`);
  if ("data" in value && value.data !== undefined) return { data: value.data, ...common };
  if (typeof value.url === "string") return { url: value.url, ...common };
  if (typeof value.raw === "string") return { raw: value.raw, ...common };
  if (isRecord(value.file)) {
    // v0.3: { kind: "file", file: { uri | bytes, mimeType, name } }
    const file = value.file;
    const fileType = optString(file.mimeType ?? file.mediaType, `${field}.file.mimeType`, fail);
    const fileName = optString(file.name, `${field}.file.name`, fail);
    const extra = { ...common, ...(fileType ? { mediaType: fileType } : {}), ...(fileName ? { filename: fileName } : {}) };
    const uri = file.uri ?? file.fileWithUri;
    const bytes = file.bytes ?? file.fileWithBytes;
    if (typeof uri === "string") return { url: uri, ...extra };
    if (typeof bytes === "string") return { raw: bytes, ...extra };
    throw fail(`${field}.file needs a uri or bytes`);
  }
  throw fail(`${field} has no text, data, url, raw or file`);
}

export function partOut(part: A2APart, version: A2AProtocolVersion): Json {
  const { metadata } = part;
  if (version === "1.0") return { ...part };
  if (part.text !== undefined) return { kind: "text", text: part.text, ...(metadata ? { metadata } : {}) };
  if (part.url !== undefined || part.raw !== undefined) {
    const file = {
      ...(part.url !== undefined ? { uri: part.url } : { bytes: part.raw }),
      ...(part.mediaType ? { mimeType: part.mediaType } : {}),
      ...(part.filename ? { name: part.filename } : {}),
    };
    return { kind: "file", file, ...(metadata ? { metadata } : {}) };
  }
  return { kind: "data", data: part.data, ...(metadata ? { metadata } : {}) };
}

function partsIn(value: unknown, field: string, fail: Fail): A2APart[] {
  if (!Array.isArray(value) || value.length === 0) throw fail(`${field} must be a non-empty array of parts`);
  return value.map((part, index) => partIn(part, `${field}[${index}]`, fail));
}

/** A message; `messageId` is required, as both versions say. */
export function messageIn(value: unknown, field: string, fail: Fail = badParams): A2AMessage {
  if (!isRecord(value)) throw fail(`${field} must be an object`);
  const taskId = optString(value.taskId, `${field}.taskId`, fail, MAX_ID_LENGTH);
  const contextId = optString(value.contextId, `${field}.contextId`, fail, MAX_ID_LENGTH);
  const metadata = optRecord(value.metadata, `${field}.metadata`, fail);
  const referenceTaskIds = optStrings(value.referenceTaskIds, `${field}.referenceTaskIds`, fail);
  const extensions = optStrings(value.extensions, `${field}.extensions`, fail);
  return {
    messageId: idIn(value.messageId, `${field}.messageId`, fail),
    role: roleIn(value.role, `${field}.role`, fail),
    parts: partsIn(value.parts, `${field}.parts`, fail),
    ...(taskId !== undefined ? { taskId } : {}),
    ...(contextId !== undefined ? { contextId } : {}),
    ...(metadata ? { metadata } : {}),
    ...(referenceTaskIds ? { referenceTaskIds } : {}),
    ...(extensions ? { extensions } : {}),
  };
}

export function messageOut(message: A2AMessage, version: A2AProtocolVersion): Json {
  const parts = message.parts.map((part) => partOut(part, version));
  if (version === "1.0") return { ...message, role: message.role === "user" ? "ROLE_USER" : "ROLE_AGENT", parts };
  return { kind: "message", ...message, parts };
}

function artifactIn(value: unknown, field: string, fail: Fail): A2AArtifact {
  if (!isRecord(value)) throw fail(`${field} must be an object`);
  const name = optString(value.name, `${field}.name`, fail);
  const description = optString(value.description, `${field}.description`, fail);
  const metadata = optRecord(value.metadata, `${field}.metadata`, fail);
  return {
    artifactId: idIn(value.artifactId, `${field}.artifactId`, fail),
    parts: Array.isArray(value.parts) ? value.parts.map((part, index) => partIn(part, `${field}.parts[${index}]`, fail)) : [],
    ...(name !== undefined ? { name } : {}),
    ...(description !== undefined ? { description } : {}),
    ...(metadata ? { metadata } : {}),
  };
}

export function artifactOut(artifact: A2AArtifact, version: A2AProtocolVersion): Json {
  return { ...artifact, parts: artifact.parts.map((part) => partOut(part, version)) };
}

function statusIn(value: unknown, field: string, fail: Fail): A2ATaskStatus {
  if (!isRecord(value)) throw fail(`${field} must be an object`);
  return {
    state: stateIn(value.state, `${field}.state`, fail),
    ...(value.message !== undefined && value.message !== null ? { message: messageIn(value.message, `${field}.message`, fail) } : {}),
    timestamp: typeof value.timestamp === "string" ? value.timestamp : "",
  };
}

export function statusOut(status: A2ATaskStatus, version: A2AProtocolVersion): Json {
  return {
    state: stateOut(status.state, version),
    ...(status.message ? { message: messageOut(status.message, version) } : {}),
    timestamp: status.timestamp,
  };
}

/** A task as a remote agent sent it (the client's side). */
export function taskIn(value: unknown, field = "task", fail: Fail = badResponse): A2ATask {
  if (!isRecord(value)) throw fail(`${field} must be an object`);
  const id = idIn(value.id, `${field}.id`, fail);
  return {
    id,
    contextId: typeof value.contextId === "string" ? value.contextId : "",
    status: statusIn(value.status, `${field}.status`, fail),
    artifacts: Array.isArray(value.artifacts) ? value.artifacts.map((a, i) => artifactIn(a, `${field}.artifacts[${i}]`, fail)) : [],
    history: Array.isArray(value.history) ? value.history.map((m, i) => messageIn(m, `${field}.history[${i}]`, fail)) : [],
    ...(isRecord(value.metadata) ? { metadata: value.metadata } : {}),
    createdAt: typeof value.createdAt === "string" ? value.createdAt : "",
    lastModified: typeof value.lastModified === "string" ? value.lastModified : "",
  };
}

/**
 * A task for the wire; `historyLength` keeps only the last messages, `artifacts: false` drops outputs.
 * With `historyLength: 0` the `history` field is left out, as the spec says it SHOULD be (§3.2.4).
 */
export function taskOut(task: A2ATask, version: A2AProtocolVersion, view: { historyLength?: number; artifacts?: boolean } = {}): Json {
  const history = view.historyLength === undefined ? task.history : view.historyLength === 0 ? undefined : task.history.slice(-view.historyLength);
  const body: Json = {
    id: task.id,
    contextId: task.contextId,
    status: statusOut(task.status, version),
    ...(view.artifacts === false ? {} : { artifacts: task.artifacts.map((artifact) => artifactOut(artifact, version)) }),
    ...(history ? { history: history.map((message) => messageOut(message, version)) } : {}),
    ...(task.metadata ? { metadata: task.metadata } : {}),
  };
  return version === "1.0" ? { ...body, createdAt: task.createdAt, lastModified: task.lastModified } : { kind: "task", ...body };
}

/** One stream item: v1.0 wraps it by member name (`task`, `message`, `statusUpdate`, `artifactUpdate`); v0.3 marks it with `kind`. */
export function eventOut(event: A2AStreamEvent, version: A2AProtocolVersion): Json {
  if (event.kind === "task") return version === "1.0" ? { task: taskOut(event.task, version) } : taskOut(event.task, version);
  if (event.kind === "message") return version === "1.0" ? { message: messageOut(event.message, version) } : messageOut(event.message, version);
  const metadata = event.metadata ? { metadata: event.metadata } : {};
  if (event.kind === "status") {
    const body = { taskId: event.taskId, contextId: event.contextId, status: statusOut(event.status, version), ...metadata };
    return version === "1.0" ? { statusUpdate: body } : { kind: "status-update", ...body, final: event.final };
  }
  const body = { taskId: event.taskId, contextId: event.contextId, artifact: artifactOut(event.artifact, version), append: event.append, lastChunk: event.lastChunk, ...metadata };
  return version === "1.0" ? { artifactUpdate: body } : { kind: "artifact-update", ...body };
}

/** A stream item or a send result from a remote agent, in either version's shape. */
export function eventIn(value: unknown): A2AStreamEvent {
  if (!isRecord(value)) throw badResponse("a stream event must be an object");
  const update = (body: unknown, kind: "status" | "artifact"): A2AStreamEvent => {
    if (!isRecord(body)) throw badResponse(`${kind} update must be an object`);
    const ids = { taskId: idIn(body.taskId, "taskId", badResponse), contextId: typeof body.contextId === "string" ? body.contextId : "" };
    const metadata = isRecord(body.metadata) ? { metadata: body.metadata } : {};
    if (kind === "status") {
      const status = statusIn(body.status, "status", badResponse);
      return { kind, ...ids, status, final: body.final === true || isFinal(status.state), ...metadata };
    }
    return { kind, ...ids, artifact: artifactIn(body.artifact, "artifact", badResponse), append: body.append === true, lastChunk: body.lastChunk === true, ...metadata };
  };
  if ("statusUpdate" in value) return update(value.statusUpdate, "status");
  if ("artifactUpdate" in value) return update(value.artifactUpdate, "artifact");
  if ("task" in value) return { kind: "task", task: taskIn(value.task) };
  if ("message" in value && !("kind" in value)) return { kind: "message", message: messageIn(value.message, "message", badResponse) };
  switch (value.kind) {
    case "task":
      return { kind: "task", task: taskIn(value) };
    case "message":
      return { kind: "message", message: messageIn(value, "message", badResponse) };
    case "status-update":
      return update(value, "status");
    case "artifact-update":
      return update(value, "artifact");
  }
  throw badResponse(`unknown stream event ${JSON.stringify(value).slice(0, 200)}`);
}

function isFinal(state: A2ATaskState): boolean {
  return state !== "submitted" && state !== "working";
}
