/**
 * Push notification configs on the wire: v0.3 nests the target under `pushNotificationConfig` and
 * names the task `id` on get/list/delete; v1.0 is flat (`taskId`, `id`, `url`, …).
 */
import { randomUUID } from "node:crypto";
import { invalidParams } from "./errors.ts";
import { MAX_ID_LENGTH } from "./limits.ts";
import type { StoredPushConfig } from "./store.ts";
import type { A2APushConfig, A2AProtocolVersion } from "./types.ts";
import { idIn, isRecord } from "./wire.ts";

type Json = Record<string, unknown>;

/** A push target as a client sent it (either version), with a generated id when it has none. */
export function pushConfigIn(value: unknown, field: string, fallbackId?: unknown): A2APushConfig {
  if (!isRecord(value)) throw invalidParams(`${field} must be an object`);
  const url = value.url;
  if (typeof url !== "string" || url.length === 0) throw invalidParams(`${field}.url is required`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidParams(`${field}.url is not a valid URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw invalidParams(`${field}.url must be http or https, got ${parsed.protocol}`);
  const idSource = value.id ?? fallbackId;
  const id = idSource === undefined || idSource === null || idSource === "" ? randomUUID() : idIn(idSource, `${field}.id`);
  const token = value.token;
  if (token !== undefined && token !== null && typeof token !== "string") throw invalidParams(`${field}.token must be a string`);
  return { id, url: parsed.href, ...(typeof token === "string" && token !== "" ? { token } : {}), ...authenticationIn(value.authentication, `${field}.authentication`) };
}

function authenticationIn(value: unknown, field: string): Pick<A2APushConfig, "authentication"> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw invalidParams(`${field} must be an object`);
  // v1.0: { scheme, credentials }; v0.3: { schemes: [...], credentials }.
  const scheme = typeof value.scheme === "string" ? value.scheme : Array.isArray(value.schemes) && typeof value.schemes[0] === "string" ? value.schemes[0] : undefined;
  if (!scheme) throw invalidParams(`${field} needs a scheme (e.g. "Bearer")`);
  if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/.test(scheme)) throw invalidParams(`${field}.scheme is not an HTTP authentication scheme: ${JSON.stringify(scheme)}`);
  const credentials = value.credentials;
  if (credentials !== undefined && credentials !== null && (typeof credentials !== "string" || /[\r\n]/.test(credentials))) {
    throw invalidParams(`${field}.credentials must be a string on one line`);
  }
  return { authentication: { scheme, ...(typeof credentials === "string" ? { credentials } : {}) } };
}

/** The params of set / Create: the task id and the target. */
export function pushSetParams(params: Json): { taskId: string; config: A2APushConfig } {
  const taskId = idIn(params.taskId, "params.taskId");
  const nested = params.pushNotificationConfig ?? params.config;
  if (nested !== undefined) return { taskId, config: pushConfigIn(nested, isRecord(params.pushNotificationConfig) ? "params.pushNotificationConfig" : "params.config", params.configId) };
  return { taskId, config: pushConfigIn(params, "params") };
}

/** The task and config ids of get / delete: v0.3 `{ id, pushNotificationConfigId }`, v1.0 `{ taskId, id }`. */
export function pushRefParams(params: Json, version: A2AProtocolVersion, configRequired: boolean): { taskId: string; configId?: string } {
  const v1 = params.taskId !== undefined || version === "1.0";
  const taskId = idIn(v1 ? params.taskId : params.id, v1 ? "params.taskId" : "params.id");
  const rawConfig = v1 ? params.id : params.pushNotificationConfigId;
  if (rawConfig === undefined || rawConfig === null || rawConfig === "") {
    if (configRequired) throw invalidParams(`${v1 ? "params.id" : "params.pushNotificationConfigId"} is required`);
    return { taskId };
  }
  if (typeof rawConfig !== "string" || rawConfig.length > MAX_ID_LENGTH) throw invalidParams("The push notification config id must be a string of at most 256 characters");
  return { taskId, configId: rawConfig };
}

/** The task id of list: v0.3 `{ id }`, v1.0 `{ taskId }`. */
export function pushListParams(params: Json): string {
  return params.taskId !== undefined ? idIn(params.taskId, "params.taskId") : idIn(params.id, "params.id");
}

/** A stored config for the wire (credentials are never sent back). */
export function pushConfigOut(stored: StoredPushConfig, version: A2AProtocolVersion): Json {
  const { config } = stored;
  const target = {
    id: config.id,
    url: config.url,
    ...(config.token !== undefined ? { token: config.token } : {}),
    ...(config.authentication ? { authentication: version === "1.0" ? { scheme: config.authentication.scheme } : { schemes: [config.authentication.scheme] } } : {}),
  };
  if (version === "0.3") return { taskId: stored.taskId, pushNotificationConfig: target };
  return { taskId: stored.taskId, ...target, createdAt: new Date(stored.createdAt).toISOString() };
}
