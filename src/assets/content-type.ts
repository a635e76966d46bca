import { extname } from "node:path";
import { lookup } from "mrmime";

// Types mrmime leaves out that sites ship; values as the `mime` package (wrangler's) gives them.
const EXTRA_TYPES: Record<string, string> = {
  ico: "image/vnd.microsoft.icon",
  eot: "application/vnd.ms-fontobject",
  flac: "audio/x-flac",
};

const FALLBACK = "application/octet-stream";

/**
 * The `Content-Type` an asset is served with, from its file extension. Text types carry
 * `charset=utf-8`, as Cloudflare adds it; an unknown extension is `application/octet-stream`.
 * @example
 * contentTypeOf("/app.js"); // "text/javascript; charset=utf-8"
 */
export function contentTypeOf(path: string): string {
  const extension = extname(path).slice(1).toLowerCase();
  if (extension === "") return FALLBACK;
  const type = lookup(extension) ?? EXTRA_TYPES[extension] ?? FALLBACK;
  return type.startsWith("text/") && !type.includes("charset") ? `${type}; charset=utf-8` : type;
}
