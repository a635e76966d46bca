/**
 * The JSON-RPC methods served: v1.0's names and v0.3's, each mapped to one operation. The version a
 * name belongs to decides the shape of the answer, unless the client sent an `A2A-Version` header.
 */
import { A2A_ERROR_CODES, A2AError } from "./errors.ts";
import type { A2AProtocolVersion } from "./types.ts";

export type A2AOperation = "send" | "stream" | "get" | "list" | "cancel" | "subscribe" | "pushSet" | "pushGet" | "pushList" | "pushDelete" | "extendedCard";

const V1: Record<string, A2AOperation> = {
  SendMessage: "send",
  SendStreamingMessage: "stream",
  GetTask: "get",
  ListTasks: "list",
  CancelTask: "cancel",
  SubscribeToTask: "subscribe",
  CreateTaskPushNotificationConfig: "pushSet",
  GetTaskPushNotificationConfig: "pushGet",
  ListTaskPushNotificationConfigs: "pushList",
  // Names seen in drafts of v1.0 and in its migration notes.
  ListTaskPushNotificationConfig: "pushList",
  DeleteTaskPushNotificationConfig: "pushDelete",
  CreatePushNotificationConfig: "pushSet",
  GetPushNotificationConfig: "pushGet",
  ListPushNotificationConfigs: "pushList",
  DeletePushNotificationConfig: "pushDelete",
  GetExtendedAgentCard: "extendedCard",
};

const V03: Record<string, A2AOperation> = {
  "message/send": "send",
  "message/stream": "stream",
  "tasks/get": "get",
  "tasks/list": "list",
  "tasks/cancel": "cancel",
  "tasks/resubscribe": "subscribe",
  "tasks/pushNotificationConfig/set": "pushSet",
  "tasks/pushNotificationConfig/get": "pushGet",
  "tasks/pushNotificationConfig/list": "pushList",
  "tasks/pushNotificationConfig/delete": "pushDelete",
  "agent/getAuthenticatedExtendedCard": "extendedCard",
};

/** Every method name served (for the docs and the error's data). */
export const METHOD_NAMES: readonly string[] = [...Object.keys(V1), ...Object.keys(V03)];

/** The operation of a method name and the version it belongs to; undefined for an unknown name. */
export function lookupMethod(method: string): { op: A2AOperation; version: A2AProtocolVersion } | undefined {
  if (Object.hasOwn(V1, method)) return { op: V1[method]!, version: "1.0" };
  if (Object.hasOwn(V03, method)) return { op: V03[method]!, version: "0.3" };
  return undefined;
}

/**
 * The version asked for by an `A2A-Version` header (`0.3`, `1.0`, `1`, any `1.x`); null when there is
 * no header. Throws VersionNotSupported (-32009) for another version.
 */
export function headerVersion(header: string | null): A2AProtocolVersion | null {
  if (header === null || header.trim() === "") return null;
  const value = header.trim();
  if (/^0\.3(\.\d+)?$/.test(value)) return "0.3";
  if (/^1(\.\d+){0,2}$/.test(value)) return "1.0";
  throw new A2AError(A2A_ERROR_CODES.versionNotSupported, `A2A version ${JSON.stringify(value)} is not supported; this agent speaks 1.0 and 0.3`, {
    supportedVersions: ["1.0", "0.3"],
  });
}
