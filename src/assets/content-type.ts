import { extname } from "node:path";
import mime from "mime";

const FALLBACK = "application/octet-stream";

/**
 * The `Content-Type` an asset is served with, from its file extension, by the `mime` package's full
 * table, as wrangler types assets at upload (office documents, playlists, wallet passes and archives
 * included). Text types carry `charset=utf-8`, as Cloudflare adds it; an unknown extension is
 * `application/octet-stream`.
 * @example
 * contentTypeOf("/app.js"); // "text/javascript; charset=utf-8"
 */
export function contentTypeOf(path: string): string {
  const extension = extname(path).slice(1).toLowerCase();
  if (extension === "") return FALLBACK;
  const type = mime.getType(extension) ?? FALLBACK;
  return type.startsWith("text/") && !type.includes("charset") ? `${type}; charset=utf-8` : type;
}
