/**
 * The inspector's HTTP API (docs/inspector/api.md), as the UI calls it: JSON in and out, the
 * session cookie and its proof for credentials, errors as {@link ApiError}.
 */
import { signal } from "@preact/signals";

/** An answer with a 4xx/5xx status, carrying the server's `{ error: { code, message } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** A paged list, as every list endpoint answers. */
export interface Page<T> {
  items: T[];
  next: string | null;
}

const PROOF_KEY = "hearth-inspector-session-proof";

/**
 * The session's proof, sent with the cookie on every call: a browser sends the cookie to every port
 * of this host, but keeps this page's storage to its own origin, port included.
 */
export const sessionProof = {
  get: (): string | undefined => localStorage.getItem(PROOF_KEY) ?? undefined,
  set: (proof: string | undefined): void => (proof === undefined ? localStorage.removeItem(PROOF_KEY) : localStorage.setItem(PROOF_KEY, proof)),
};

/** Set when a call answers 401: the session ended (restart of the host, cookie cleared). */
export const unauthorized = signal(false);

type Method = "GET" | "POST" | "PUT" | "DELETE";

/** Calls the API; throws {@link ApiError} with the server's code and message on 4xx/5xx. */
export async function api<T>(path: string, method: Method = "GET", body?: unknown): Promise<T> {
  const text = await call(path, method, "application/json", body);
  return (text === "" ? undefined : safeParse(text)) as T;
}

/** GETs a text answer (the Prometheus exposition at `/metrics`) with the session; errors as {@link api}'s. */
export function apiText(path: string): Promise<string> {
  return call(path, "GET", "text/plain");
}

/** One call with the session's cookie and proof; the answer's text, or {@link ApiError} on 4xx/5xx. */
async function call(path: string, method: Method, accept: string, body?: unknown): Promise<string> {
  const proof = sessionProof.get();
  const init: RequestInit = { method, credentials: "same-origin", headers: { accept, ...(proof ? { "x-hearth-session": proof } : {}) } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { ...init.headers, "content-type": "application/json" };
  }
  const response = await fetch(path, init);
  const text = await response.text();
  if (!response.ok) {
    if (response.status === 401 && path !== "/api/session") unauthorized.value = true;
    const error = (safeParse(text) as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(response.status, error?.code ?? `http_${response.status}`, error?.message ?? response.statusText);
  }
  return text;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `/api/…` with a query string built from the defined, non-empty values (after any the path has, such as `?sub=`). */
export function withQuery(path: string, query: Record<string, string | number | boolean | undefined | null>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const search = params.toString();
  return search === "" ? path : `${path}${path.includes("?") ? "&" : "?"}${search}`;
}

/**
 * An agent instance: class, name and, for a sub-agent, its `sub` path as the API takes it —
 * `Class/name/Class/name`, each part URL-encoded (so a name may hold a slash).
 */
export interface AgentRef {
  class: string;
  name: string;
  sub?: string;
}

/** The `sub` path of a child: the parent's path plus its own class and name. */
export function childSub(parent: AgentRef, child: { class: string; name: string }): string {
  const own = `${encodeURIComponent(child.class)}/${encodeURIComponent(child.name)}`;
  return parent.sub === undefined || parent.sub === "" ? own : `${parent.sub}/${own}`;
}

/** A `sub` path's `[class, name]` pairs, decoded. */
function subPairs(sub: string): Array<[string, string]> {
  const parts = sub.split("/").map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  });
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < parts.length; i += 2) pairs.push([parts[i] ?? "", parts[i + 1] ?? ""]);
  return pairs;
}

/** A `sub` path for reading: `Class/name › Class/name`. */
export function subLabel(sub: string): string {
  return subPairs(sub)
    .map(([className, name]) => `${className}/${name}`)
    .join(" › ");
}

/**
 * The class and name the agent itself goes by — a sub-agent's own, not its root's: what its events
 * and log lines carry.
 */
export function ownName(agent: AgentRef): { class: string; name: string } {
  const last = agent.sub === undefined || agent.sub === "" ? undefined : subPairs(agent.sub).at(-1);
  return last === undefined ? { class: agent.class, name: agent.name } : { class: last[0], name: last[1] };
}

/** `/api/agents/:class/:name{rest}`, with `?sub=` for a sub-agent. */
export function agentPath(agent: AgentRef, rest = ""): string {
  const base = `/api/agents/${encodeURIComponent(agent.class)}/${encodeURIComponent(agent.name)}${rest}`;
  if (agent.sub === undefined || agent.sub === "") return base;
  return `${base}${base.includes("?") ? "&" : "?"}sub=${encodeURIComponent(agent.sub)}`;
}
