/**
 * `openApiSource`: an OpenAPI 3.0 / 3.1 document as a code-mode API source. The host makes every
 * request, adding credentials the sandbox never sees, only to the document's servers (or a base URL
 * given here).
 */
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_REQUEST_TIMEOUT_MS } from "../limits.ts";
import type { ApiSource } from "../source.ts";
import { sendRequest, type HttpSettings } from "./http.ts";
import { openApiOperations, type OpenApiOperation } from "./operations.ts";

/**
 * Header or query values, or a function giving them per request (for tokens that rotate).
 *
 * @example
 * ```ts
 * const headers: CredentialValues = async () => ({ authorization: `Bearer ${await tokens.current()}` });
 * ```
 */
export type CredentialValues = Readonly<Record<string, string>> | (() => Record<string, string> | Promise<Record<string, string>>);

/**
 * Options of {@link openApiSource}.
 *
 * @example
 * ```ts
 * const options: OpenApiSourceOptions = { headers: { authorization: `Bearer ${token}` }, include: (op) => op.tags?.includes("issues") ?? false };
 * ```
 */
export interface OpenApiSourceOptions {
  /** The one base URL requests go to, instead of the document's `servers` (absolute http or https). */
  readonly baseUrl?: string;
  /** Headers the host adds to every request (credentials); they override the input's header parameters. */
  readonly headers?: CredentialValues;
  /** Query parameters the host adds to every request (API keys that go in the URL). */
  readonly query?: CredentialValues;
  /** Keeps only the operations this returns true for. */
  readonly include?: (operation: OpenApiOperation) => boolean;
  /** Bound on a response body, in bytes. Default 1 MiB. */
  readonly maxResponseBytes?: number;
  /** Bound on one request, in milliseconds. Default 30,000. */
  readonly timeoutMs?: number;
  /** The fetch used by the host; default `globalThis.fetch`. */
  readonly fetch?: typeof globalThis.fetch;
}

/**
 * An API source over an OpenAPI 3.0 / 3.1 document (a parsed JSON or YAML object): one operation
 * per path and method, named by its `operationId` (else `<method>_<path words>`), its parameters
 * and JSON body as one input object (`{ owner, repo, body }`), its first 2xx JSON response as the
 * output type. Inputs are validated against the schema before a request is sent.
 *
 * @example
 * ```ts
 * import { createCodeTools, openApiSource } from "hearth/codemode";
 * const spec = JSON.parse(await readFile("petstore.json", "utf8"));
 * const petstore = openApiSource(spec, { baseUrl: "https://petstore.example.com/v1", headers: { "x-api-key": key } });
 * const { tools } = createCodeTools({ sources: [petstore] });
 * ```
 */
export function openApiSource(document: object, options: OpenApiSourceOptions = {}): ApiSource & { readonly operations: readonly OpenApiOperation[] } {
  const spec = document as Record<string, unknown>;
  const operations = openApiOperations(spec, options.include);
  const byName = new Map(operations.map((op) => [op.name, op]));
  const settings: HttpSettings = {
    bases: basesOf(spec, options.baseUrl),
    headers: credentials(options.headers),
    query: credentials(options.query),
    fetch: options.fetch ?? globalThis.fetch,
    maxResponseBytes: positive("maxResponseBytes", options.maxResponseBytes, DEFAULT_MAX_RESPONSE_BYTES),
    timeoutMs: positive("timeoutMs", options.timeoutMs, DEFAULT_REQUEST_TIMEOUT_MS),
  };
  return {
    operations,
    async call(name, input, context) {
      const operation = byName.get(name);
      if (operation === undefined) throw new Error(`no operation named ${JSON.stringify(name)}`);
      const fields = typeof input === "object" && input !== null ? (input as Record<string, unknown>) : {};
      return sendRequest(operation.http, fields, settings, context.abortSignal);
    },
  };
}

/** The allowed base URLs: `baseUrl`, else the document's absolute servers (variables at their defaults). */
function basesOf(spec: Record<string, unknown>, baseUrl: string | undefined): URL[] {
  if (baseUrl !== undefined) return [absolute(baseUrl, "baseUrl")];
  const servers = Array.isArray(spec.servers) ? spec.servers : [];
  const out: URL[] = [];
  for (const server of servers) {
    if (typeof server !== "object" || server === null || typeof (server as { url?: unknown }).url !== "string") continue;
    const { url, variables } = server as { url: string; variables?: Record<string, { default?: unknown }> };
    const filled = url.replace(/\{([^}]+)\}/g, (_, name: string) => String(variables?.[name]?.default ?? ""));
    if (/^https?:\/\//i.test(filled)) out.push(new URL(filled));
  }
  return out;
}

function absolute(url: string, what: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`codemode: ${what} must be an absolute http or https URL, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new TypeError(`codemode: ${what} must be an absolute http or https URL, got ${JSON.stringify(url)}`);
  return parsed;
}

function credentials(values: CredentialValues | undefined): () => Promise<Record<string, string>> {
  if (values === undefined) return async () => ({});
  if (typeof values === "function") return async () => ({ ...(await values()) });
  const copy = { ...values };
  return async () => copy;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`codemode: openApiSource ${name} must be a positive number, got ${value}`);
  return value;
}
