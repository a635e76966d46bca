/**
 * Request paths to asset paths and back. An asset is looked up by its decoded path
 * ("/a b.html"); its canonical URL path is that path with each segment percent-encoded
 * ("/a%20b.html"), and a request for any other spelling of it is redirected there.
 * @module
 */

/**
 * The decoded form of a URL path: each segment percent-decoded (a segment that does not decode
 * stays as it is), runs of `/` collapsed to one.
 * @example
 * decodePathname("/caf%C3%A9//menu"); // "/café/menu"
 */
export function decodePathname(pathname: string): string {
  return pathname
    .split("/")
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    })
    .join("/")
    .replace(/\/{2,}/g, "/");
}

/**
 * The canonical URL path of a decoded asset path: each segment with `encodeURIComponent`.
 * @example
 * encodePathname("/[id].html"); // "/%5Bid%5D.html"
 */
export function encodePathname(decoded: string): string {
  return decoded
    .split("/")
    .map((segment) => encodeURIComponent(segment))
    .join("/");
}

/**
 * True for a decoded path no asset may have: a NUL byte, or a `.` / `..` segment (from an encoded
 * traversal such as `/..%2f..%2fetc/passwd`, which the URL parser leaves alone). Such a request
 * never reaches the file system: the manifest holds only paths found inside the directory.
 */
export function isHostilePath(decoded: string): boolean {
  if (decoded.includes("\0")) return true;
  return decoded.split("/").some((segment) => segment === "." || segment === "..");
}
