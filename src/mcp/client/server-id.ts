/**
 * Server ids: the key of a mounted server in the agent's database, in `getMcpServers().servers`, in
 * `this.mcp` calls and in AI tool names. Ids given by the user are normalised with the Agents SDK's
 * rule, so the same `{ id }` names the same server on both platforms; generated ids already follow it.
 */
import { randomBytes } from "node:crypto";

/** Longest server id, after normalisation. */
export const MCP_SERVER_ID_MAX_LENGTH = 64;

/**
 * A user-given id in its stored form: lowercased; every run of characters other than `a-z 0-9 _ -`
 * becomes one `-`; repeated `-` collapse; leading and trailing `-`/`_` go; `id-` is put in front
 * when the result is empty or does not start with a letter; cut to 64 characters (no trailing `-`).
 * Idempotent.
 * @throws TypeError when `input` is not a string
 * @example
 * normalizeServerId("GitHub MCP!"); // "github-mcp"
 * normalizeServerId("42-things");   // "id-42-things"
 * normalizeServerId("slack_v2");    // "slack_v2"
 */
export function normalizeServerId(input: string): string {
  if (typeof input !== "string") throw new TypeError(`MCP server id must be a string, got ${typeof input}`);
  let id = input
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^[-_]+|[-_]+$/g, "");
  if (!/^[a-z]/.test(id)) id = `id-${id}`.replace(/-+$/, "");
  if (id.length > MCP_SERVER_ID_MAX_LENGTH) id = id.slice(0, MCP_SERVER_ID_MAX_LENGTH).replace(/-+$/, "");
  return id;
}

const LETTERS = "abcdefghijklmnopqrstuvwxyz";
const ALPHABET = `${LETTERS}0123456789`;

/**
 * A fresh id of 8 characters, `[a-z][a-z0-9]{7}` (a fixed point of {@link normalizeServerId}, so it
 * can be passed back as `{ id }`), not in `taken`.
 * @example
 * generateServerId((id) => servers.has(id)); // "k3x9a2b1"
 */
export function generateServerId(taken: (id: string) => boolean): string {
  for (;;) {
    const bytes = randomBytes(8);
    let id = LETTERS[bytes[0]! % LETTERS.length]!;
    for (let i = 1; i < 8; i++) id += ALPHABET[bytes[i]! % ALPHABET.length]!;
    if (!taken(id)) return id;
  }
}
