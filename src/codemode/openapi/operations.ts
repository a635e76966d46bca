/**
 * An OpenAPI 3.0 / 3.1 document's operations as code-mode operations: path, query and header
 * parameters and the JSON request body become one input object; the first 2xx JSON response is
 * the output type; every schema is made self-contained (see bundle.ts).
 */
import type { JsonSchema } from "../declarations.ts";
import type { ApiOperation } from "../source.ts";
import { deref, SchemaBundler } from "./bundle.ts";

type Json = { [key: string]: unknown };

/**
 * Where one input field goes in the HTTP request.
 *
 * @example
 * ```ts
 * const field: HttpField = { key: "per_page", name: "per_page", in: "query" };
 * ```
 */
export interface HttpField {
  /** The key in the input object. */
  readonly key: string;
  /** The parameter's name in the request. */
  readonly name: string;
  readonly in: "path" | "query" | "header";
  readonly style?: string | undefined;
  readonly explode?: boolean | undefined;
}

/**
 * How to turn an operation's input into an HTTP request.
 *
 * @example
 * ```ts
 * const plan: HttpPlan = { method: "GET", path: "/repos/{owner}/{repo}", fields: [
 *   { key: "owner", name: "owner", in: "path" }, { key: "repo", name: "repo", in: "path" }] };
 * ```
 */
export interface HttpPlan {
  readonly method: string;
  /** The path template: `/repos/{owner}/{repo}`. */
  readonly path: string;
  readonly fields: readonly HttpField[];
  /** The input key holding the request body, and its media type. */
  readonly body?: { readonly key: string; readonly mediaType: string } | undefined;
}

/**
 * An operation of an OpenAPI document, with its HTTP plan.
 *
 * @example
 * ```ts
 * openApiSource(spec, { include: (op: OpenApiOperation) => op.http.method === "GET" }); // read-only API
 * ```
 */
export interface OpenApiOperation extends ApiOperation {
  readonly http: HttpPlan;
}

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

/**
 * The operations of a document, in its order (paths, then methods). `include` keeps some only.
 *
 * @example
 * ```ts
 * openApiOperations(spec).map((op) => `${op.name}: ${op.route}`); // ["listPets: GET /pets", …]
 * ```
 */
export function openApiOperations(document: Json, include?: (operation: OpenApiOperation) => boolean): OpenApiOperation[] {
  const version = typeof document.openapi === "string" ? document.openapi : "";
  if (!/^3\.[01]\./.test(version)) {
    throw new TypeError(`codemode: openApiSource needs an OpenAPI 3.0 or 3.1 document; its "openapi" field is ${JSON.stringify(document.openapi ?? null)}`);
  }
  const bundler = new SchemaBundler(document);
  const out: OpenApiOperation[] = [];
  for (const [path, rawItem] of Object.entries(recordOf(document.paths))) {
    const item = deref<Json>(document, rawItem);
    if (item === undefined) continue;
    const shared = Array.isArray(item.parameters) ? item.parameters : [];
    for (const method of METHODS) {
      const op = item[method];
      if (typeof op !== "object" || op === null) continue;
      const operation = convert(document, bundler, method, path, op as Json, shared);
      if (include === undefined || include(operation)) out.push(operation);
    }
  }
  return out;
}

function convert(document: Json, bundler: SchemaBundler, method: string, path: string, op: Json, shared: unknown[]): OpenApiOperation {
  // Operation parameters override path-item ones with the same name and location.
  const byPlace = new Map<string, Json>();
  for (const raw of [...shared, ...(Array.isArray(op.parameters) ? op.parameters : [])]) {
    const param = deref<Json>(document, raw);
    if (param === undefined || typeof param.name !== "string" || typeof param.in !== "string") continue;
    byPlace.set(`${param.in}\0${param.name}`, param);
  }
  const properties: Json = {};
  const required: string[] = [];
  const fields: HttpField[] = [];
  for (const param of byPlace.values()) {
    const place = param.in as string;
    if (place !== "path" && place !== "query" && place !== "header") continue; // cookies are not sent
    const name = param.name as string;
    const key = name in properties ? `${place}_${name}` : name;
    const schema = bundler.bundle(param.schema ?? schemaOfContent(param.content) ?? {});
    properties[key] = withDescription(schema, param.description, param.deprecated === true);
    if (param.required === true || place === "path") required.push(key);
    fields.push({ key, name, in: place, style: stringOf(param.style), explode: typeof param.explode === "boolean" ? param.explode : undefined });
  }
  let body: HttpPlan["body"];
  const requestBody = deref<Json>(document, op.requestBody);
  if (requestBody !== undefined) {
    const [mediaType, media] = pickMedia(requestBody.content);
    if (mediaType !== undefined) {
      const key = "body" in properties ? "requestBody" : "body";
      properties[key] = withDescription(bundler.bundle(recordOf(media).schema ?? {}), requestBody.description, false);
      if (requestBody.required === true) required.push(key);
      body = { key, mediaType };
    }
  }
  const inputSchema = hoistDefs({ type: "object", properties, required, additionalProperties: false });
  const description = [op.summary, op.description].filter((s): s is string => typeof s === "string" && s.trim() !== "");
  const operationId = typeof op.operationId === "string" && op.operationId.trim() !== "" ? op.operationId : undefined;
  return {
    name: operationId ?? nameFromRoute(method, path),
    description: description.length > 0 ? [...new Set(description)].join("\n\n") : undefined,
    tags: Array.isArray(op.tags) ? op.tags.filter((t): t is string => typeof t === "string") : [],
    route: `${method.toUpperCase()} ${path}`,
    inputSchema,
    outputSchema: outputOf(document, bundler, op.responses),
    http: { method: method.toUpperCase(), path, fields, body },
  };
}

/** `get /repos/{owner}/{repo}` → `get_repos_owner_repo`. */
function nameFromRoute(method: string, path: string): string {
  const words = path.replace(/[{}]/g, "").split(/[^A-Za-z0-9]+/).filter(Boolean);
  return [method, ...words].join("_");
}

/** The schema of the first 2xx response with a JSON (or any) body; undefined for none. */
function outputOf(document: Json, bundler: SchemaBundler, responses: unknown): JsonSchema | undefined {
  const entries = Object.entries(recordOf(responses)).filter(([status]) => /^2(\d\d|XX)$/i.test(status)).sort(([a], [b]) => a.localeCompare(b));
  for (const [, raw] of entries) {
    const response = deref<Json>(document, raw);
    const [, media] = pickMedia(response?.content);
    const schema = recordOf(media).schema;
    if (schema !== undefined) return hoistDefs(bundler.bundle(schema));
  }
  return undefined;
}

/** The JSON media type of a `content` map when there is one, else the first. */
function pickMedia(content: unknown): [string | undefined, unknown] {
  const entries = Object.entries(recordOf(content));
  const json = entries.find(([type]) => /^application\/(.+\+)?json\b/i.test(type) || type === "*/*");
  const chosen = json ?? entries[0];
  return chosen === undefined ? [undefined, undefined] : chosen;
}

function schemaOfContent(content: unknown): unknown {
  const [, media] = pickMedia(content);
  return recordOf(media).schema;
}

function withDescription(schema: JsonSchema, description: unknown, deprecated: boolean): JsonSchema {
  if (typeof schema !== "object") return schema;
  const extra: Json = {};
  if (typeof description === "string" && description.trim() !== "" && schema.description === undefined) extra.description = description;
  if (deprecated) extra.deprecated = true;
  return Object.keys(extra).length === 0 ? schema : { ...schema, ...extra };
}

/**
 * Moves the `$defs` of nested property schemas up to the root, where `#/$defs/…` refs resolve
 * (keys are unique per document, so merging loses nothing).
 */
function hoistDefs(schema: JsonSchema): JsonSchema {
  if (typeof schema !== "object") return schema;
  const defs: Json = { ...recordOf(schema.$defs) };
  const strip = (node: unknown): unknown => {
    if (typeof node !== "object" || node === null || Array.isArray(node)) return node;
    const { $defs, ...rest } = node as Json;
    Object.assign(defs, recordOf($defs));
    return rest;
  };
  const root = strip(schema) as Json;
  if (root.properties !== undefined) root.properties = Object.fromEntries(Object.entries(recordOf(root.properties)).map(([k, v]) => [k, strip(v)]));
  return Object.keys(defs).length === 0 ? root : { ...root, $defs: Object.fromEntries(Object.entries(defs).sort(([a], [b]) => a.localeCompare(b))) };
}

function recordOf(value: unknown): Json {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

function stringOf(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}
