/** What a test reads back from the inspector's HTTP API. */
export interface InspectorAnswer {
  status: number;
  json: Record<string, unknown> & { items?: Array<Record<string, unknown>> };
}

/** Options of one call: the method, a JSON body, and whether it goes with the admin token. */
export interface InspectorCall {
  method?: string;
  body?: unknown;
  as?: "admin";
}

/**
 * A caller of the inspector API at `base`, signed in with the viewer token (the admin token when a
 * call says `as: "admin"`).
 * @example
 * const api = inspectorApi(`http://127.0.0.1:${port}`, VIEWER, ADMIN);
 * expect((await api("/api/agents/Room/a/state", { method: "PUT", body: { state: {} } })).status).toBe(403);
 */
export function inspectorApi(base: string | (() => string), viewer: string, admin: string): (path: string, call?: InspectorCall) => Promise<InspectorAnswer> {
  return async (path, call = {}) => {
    const response = await fetch(`${typeof base === "string" ? base : base()}${path}`, {
      method: call.method ?? "GET",
      headers: { authorization: `Bearer ${call.as === "admin" ? admin : viewer}`, ...(call.body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
    });
    return { status: response.status, json: (await response.json()) as InspectorAnswer["json"] };
  };
}
