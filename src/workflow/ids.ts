import { randomBytes } from "node:crypto";

// URL-safe: 64 symbols, so each random byte's low 6 bits pick one without bias.
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

/** 21 random characters of `A-Za-z0-9_-` (126 bits), the shape of ids in Cloudflare's Agents SDK. */
export function randomId(length = 21): string {
  const bytes = randomBytes(length);
  let id = "";
  for (const byte of bytes) id += ALPHABET[byte & 63];
  return id;
}

/** The default id of an instance started with `runWorkflow`, as Cloudflare's SDK makes them: `wf_…`. */
export function newWorkflowId(): string {
  return `wf_${randomId()}`;
}
