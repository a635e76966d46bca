import { LIMITS } from "../limits.ts";

/** An agent name that cannot be used. Routes answer it with 400. */
export class AgentNameError extends Error {
  readonly status = 400;
  constructor(message: string) {
    super(message);
    this.name = "AgentNameError";
  }
}

/**
 * Names are arbitrary strings — unicode, "/", "..", spaces — up to 4 KiB of UTF-8. They never reach a
 * file path (see storage/agent-file.ts). Refused: empty, NUL, unpaired surrogates, too long.
 */
export function validateAgentName(name: unknown): string {
  if (typeof name !== "string") throw new AgentNameError(`Agent name must be a string, got ${typeof name}`);
  if (name.length === 0) throw new AgentNameError("Agent name must not be empty");
  if (name.includes("\0")) throw new AgentNameError("Agent name must not contain NUL characters");
  if (!name.isWellFormed()) throw new AgentNameError("Agent name must be well-formed unicode (unpaired surrogate)");
  const bytes = Buffer.byteLength(name);
  if (bytes > LIMITS.maxNameBytes) {
    throw new AgentNameError(`Agent name is ${bytes} bytes of UTF-8; the limit is ${LIMITS.maxNameBytes} (maxNameBytes)`);
  }
  return name;
}
