/**
 * Calls to the inspector's HTTP API, and its refusals as `hearth inspect` prints them.
 */

/** `fetch`, with a failure to connect said in the terminal's words. */
export async function reach(base: URL, url: URL, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    if (init.signal?.aborted) throw error;
    const reason = (error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message;
    throw new Error(`Cannot reach the inspector at ${base.origin}: ${reason}`, { cause: error });
  }
}

/** One API call with the token; the body, when given, as JSON. */
export function call(base: URL, token: string, method: string, path: string, body?: unknown): Promise<Response> {
  return reach(base, new URL(path, base), {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** The line printed for a refused or failed call: `hearth inspect: 403 admin_required: …`. */
export function requestFailure(status: number, text: string): string {
  let error: { code?: unknown; message?: unknown } | undefined;
  try {
    error = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  } catch {
    error = undefined;
  }
  const code = typeof error?.code === "string" ? error.code : "error";
  const message = typeof error?.message === "string" ? error.message : text.trim() || "(no message)";
  return `hearth inspect: ${status} ${code}: ${message}\n`;
}
