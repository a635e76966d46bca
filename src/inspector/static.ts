/**
 * The prebuilt UI (dist/inspector/: index.html and hashed files under assets/). Only those are
 * served — the compiled server modules share the folder — and any other path that is not an API
 * path gets index.html (the UI routes on the client).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
};

/** The page served when the package was built without the UI. */
export const NO_UI_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Hearth inspector</title></head>
<body><main><h1>Hearth inspector</h1><p>This copy of Hearth was built without the inspector's web UI
(dist/inspector/index.html is missing; <code>npm run build</code> makes it). The HTTP API works:
see <a href="/api/openapi.json">/api/openapi.json</a> and <code>hearth inspect --help</code>.</p></main></body></html>`;

/** Where the UI is: next to this module once compiled (dist/inspector/), else the repository's dist/inspector/. */
export function defaultUiDir(): string {
  const here = fileURLToPath(new URL(".", import.meta.url));
  if (existsSync(join(here, "index.html"))) return here;
  return resolve(here, "..", "..", "dist", "inspector");
}

/** A static file of the UI, or undefined (the caller answers with index.html or the no-UI page). */
export function uiFile(uiDir: string, pathname: string): { body: Buffer; contentType: string; immutable: boolean } | undefined {
  if (pathname === "/" || pathname === "/index.html") return indexHtml(uiDir);
  if (!pathname.startsWith("/assets/")) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  const assets = resolve(uiDir, "assets");
  const file = resolve(uiDir, "." + decoded);
  if (!file.startsWith(assets + sep) || decoded.includes("\0")) return undefined;
  if (!existsSync(file) || !statSync(file).isFile()) return undefined;
  return { body: readFileSync(file), contentType: TYPES[extname(file)] ?? "application/octet-stream", immutable: true };
}

/** index.html of the UI, or undefined when the UI was not built. */
export function indexHtml(uiDir: string): { body: Buffer; contentType: string; immutable: boolean } | undefined {
  const file = join(uiDir, "index.html");
  if (!existsSync(file)) return undefined;
  return { body: readFileSync(file), contentType: "text/html; charset=utf-8", immutable: false };
}
