import { readBodyWithLimit } from "../../gateway/bounded-body.ts";
import { jsonRpcError } from "./responses.ts";

/**
 * Deepest nesting of arrays and objects accepted in a JSON-RPC body. The SDK's schemas validate a
 * message recursively: a body nested a few thousand levels deep overflowed the stack (a 500).
 */
export const MAX_MCP_JSON_DEPTH = 128;

/**
 * A request's JSON body, read up to `maxBytes` (`limitOption`: the option that sets it, named in the
 * 413) and parsed; a Response is the refusal to answer with.
 */
export async function readJsonBody(request: Request, maxBytes: number, limitOption: string): Promise<unknown> {
  let text: string | undefined;
  try {
    text = await readBodyWithLimit(request, maxBytes);
  } catch {
    // The client went away mid-upload: nobody reads the answer, and it is no server error to log.
    return jsonRpcError(400, -32700, "Parse error: the request body could not be read");
  }
  if (text === undefined) return jsonRpcError(413, -32000, `Payload too large: the limit is ${maxBytes} bytes (${limitOption})`);
  return parseJsonBody(text);
}

/** JSON text parsed, or a 400 Parse error when it is not JSON or nests deeper than {@link MAX_MCP_JSON_DEPTH}. */
export function parseJsonBody(text: string): unknown {
  if (nestsDeeperThan(text, MAX_MCP_JSON_DEPTH)) {
    return jsonRpcError(400, -32700, `Parse error: JSON nested more than ${MAX_MCP_JSON_DEPTH} levels deep (MAX_MCP_JSON_DEPTH)`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return jsonRpcError(400, -32700, "Parse error: Invalid JSON");
  }
}

/** Counted on the text, in one pass without recursion: brackets inside strings do not count. */
function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c) i++; // a backslash escapes the next character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x7b || code === 0x5b) {
      if (++depth > max) return true;
    } else if (code === 0x7d || code === 0x5d) depth--;
  }
  return false;
}
