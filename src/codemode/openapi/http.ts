/**
 * The host side of an OpenAPI call: the request is built from the operation's plan and the
 * validated input, checked to stay under an allowed base URL, sent with the host's credentials
 * (never visible to the sandbox), with no redirects followed, a time bound and a size bound on
 * the answer.
 */
import { MAX_ERROR_BODY_CHARS, MAX_REQUEST_BODY_BYTES } from "../limits.ts";
import type { HttpPlan } from "./operations.ts";
import { holding } from "../../web/holding.ts";

/** Credentials and limits of the HTTP calls; see `OpenApiSourceOptions`. */
export interface HttpSettings {
  readonly bases: readonly URL[];
  readonly headers: () => Promise<Record<string, string>>;
  readonly query: () => Promise<Record<string, string>>;
  readonly fetch: typeof globalThis.fetch;
  readonly maxResponseBytes: number;
  readonly timeoutMs: number;
}

/** Sends one operation's request and returns its parsed body (JSON, text, or null when empty). */
export async function sendRequest(plan: HttpPlan, input: Record<string, unknown>, settings: HttpSettings, signal: AbortSignal | undefined): Promise<unknown> {
  const base = settings.bases[0];
  if (base === undefined) throw new Error("the API has no absolute server URL; pass baseUrl to openApiSource");
  const where = `${plan.method} ${plan.path}`;
  let path = plan.path;
  const headers = new Headers({ accept: "application/json, */*;q=0.5" });
  const query: Array<[string, string]> = [];
  for (const field of plan.fields) {
    const value = input[field.key];
    if (value === undefined) continue;
    if (field.in === "path") path = path.replaceAll(`{${field.name}}`, pathValue(where, field.key, value));
    else if (field.in === "header") headers.set(field.name, Array.isArray(value) ? value.map(scalar).join(",") : scalar(value));
    else query.push(...queryPairs(field.name, value, field.style, field.explode));
  }
  refuseDotSegments(where, plan, path);
  const target = new URL(`${base.href.replace(/\/$/, "")}${path.startsWith("/") ? path : `/${path}`}`);
  if (!isUnder(target, base)) {
    throw new Error(`refused: ${target.origin}${target.pathname} is outside the API's servers (${settings.bases.map((b) => b.href).join(", ")})`);
  }
  const url = target;
  for (const [key, value] of query) url.searchParams.append(key, value);
  for (const [key, value] of Object.entries(await settings.query())) url.searchParams.set(key, value);
  let body: string | undefined;
  if (plan.body !== undefined && input[plan.body.key] !== undefined) {
    const value = input[plan.body.key];
    const form = /x-www-form-urlencoded/i.test(plan.body.mediaType);
    body = form ? new URLSearchParams(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, scalar(v)])).toString()
      : typeof value === "string" && !/json/i.test(plan.body.mediaType) ? value : JSON.stringify(value);
    if (Buffer.byteLength(body) > MAX_REQUEST_BODY_BYTES) {
      throw new RangeError(`${where}: the request body is ${Buffer.byteLength(body)} bytes, more than MAX_REQUEST_BODY_BYTES (${MAX_REQUEST_BODY_BYTES})`);
    }
    headers.set("content-type", plan.body.mediaType === "*/*" ? "application/json" : plan.body.mediaType);
  }
  for (const [key, value] of Object.entries(await settings.headers())) headers.set(key, value);

  const timeout = AbortSignal.timeout(settings.timeoutMs);
  const stop = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
  // The same errors while the headers or the body are awaited: the time bound covers both.
  const failed = (error: unknown): Error =>
    timeout.aborted
      ? new Error(`${where}: no answer within ${settings.timeoutMs} ms (timeoutMs)`, { cause: error })
      : new Error(`${where}: the request failed: ${(error as Error).message}`, { cause: error });
  let response: Response;
  try {
    // Held while the request runs (web/holding.ts): collected, neither the timeout nor the caller's abort would reach it.
    response = await holding(stop, settings.fetch(url, { method: plan.method, headers, ...(body === undefined ? {} : { body }), redirect: "manual", signal: stop }));
  } catch (error) {
    throw failed(error);
  }
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel();
    throw new Error(`${where} answered ${response.status} (a redirect, not followed: credentials stay with the API's servers)`);
  }
  const text = await holding(stop, readBounded(response, settings.maxResponseBytes, where, failed));
  if (!response.ok) {
    const shown = text.length > MAX_ERROR_BODY_CHARS ? `${text.slice(0, MAX_ERROR_BODY_CHARS)}… [${text.length} characters]` : text;
    throw new Error(`${where} answered ${response.status} ${response.statusText}${shown === "" ? "" : `: ${shown}`}`);
  }
  if (text === "") return null;
  if (/json/i.test(response.headers.get("content-type") ?? "")) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

/** Whether `target` is `base` or below its path, on the same origin. */
function isUnder(target: URL, base: URL): boolean {
  if (target.origin !== base.origin) return false;
  const prefix = base.pathname.replace(/\/$/, "");
  return target.pathname === prefix || target.pathname.startsWith(`${prefix}/`) || prefix === "";
}

/** The body as text, at most `max` bytes; a failed read (the time bound, an abort, a dropped connection) is mapped by `failed`. */
async function readBounded(response: Response, max: number, where: string, failed: (error: unknown) => Error): Promise<string> {
  const declared = Number(response.headers.get("content-length"));
  const tooBig = (size?: number) =>
    new RangeError(`${where}: the response is ${size === undefined ? "larger than" : `${size} bytes, more than`} maxResponseBytes (${max})`);
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel();
    throw tooBig(declared);
  }
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (error) {
      throw failed(error);
    }
    const { done, value } = chunk;
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      throw tooBig();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * A path parameter's value, percent-encoded: one segment of the path, never `.` or `..`, which the
 * URL parser resolves (drops, or steps up over the segment before), so the request would reach
 * another endpoint of the API with the host's credentials (`…/labels/..` is `…/issues/1/`).
 */
function pathValue(where: string, key: string, value: unknown): string {
  const encoded = encodeURIComponent(scalar(value));
  if (encoded === "." || encoded === "..") throw dotSegmentError(where, [key], encoded);
  return encoded;
}

/** A segment the parameters made (`{a}{b}` with "." twice) that URLs resolve as `.` or `..`: refused as pathValue refuses one value. */
function refuseDotSegments(where: string, plan: HttpPlan, path: string): void {
  const template = plan.path.split("/");
  path.split("/").forEach((segment, i) => {
    const written = template[i] ?? "";
    if (!isDotSegment(segment) || isDotSegment(written)) return;
    const names = [...written.matchAll(/\{([^}]+)\}/g)].map((m) => plan.fields.find((f) => f.in === "path" && f.name === m[1])?.key ?? m[1] ?? "");
    throw dotSegmentError(where, names, segment);
  });
}

/** "." or ".." as the URL parser reads a path segment (`%2e` is a dot there). */
function isDotSegment(segment: string): boolean {
  const dots = segment.replace(/%2e/gi, ".");
  return dots === "." || dots === "..";
}

function dotSegmentError(where: string, keys: readonly string[], segment: string): Error {
  const names = keys.map((k) => JSON.stringify(k)).join(" and ");
  const what = keys.length === 1 ? `path parameter ${names} cannot be` : `path parameters ${names} cannot make the segment`;
  return new Error(`${where}: ${what} ${JSON.stringify(segment)}: URLs resolve "." and ".." segments, so the request would reach another endpoint`);
}

function scalar(value: unknown): string {
  return typeof value === "string" ? value : typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
}

/** Query pairs by OpenAPI style: form (exploded arrays repeat the key), deepObject, or comma lists. */
function queryPairs(name: string, value: unknown, style: string | undefined, explode: boolean | undefined): Array<[string, string]> {
  const exploded = explode ?? (style === undefined || style === "form");
  if (Array.isArray(value)) {
    if (exploded) return value.map((v) => [name, scalar(v)]);
    const separator = style === "spaceDelimited" ? " " : style === "pipeDelimited" ? "|" : ",";
    return [[name, value.map(scalar).join(separator)]];
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value);
    if (style === "deepObject") return entries.map(([k, v]) => [`${name}[${k}]`, scalar(v)]);
    if (exploded) return entries.map(([k, v]) => [k, scalar(v)]);
    return [[name, entries.flatMap(([k, v]) => [k, scalar(v)]).join(",")]];
  }
  return [[name, scalar(value)]];
}
