/**
 * Serves the built page from `examples/chat/dist/`. Without a build it answers every page request
 * with how to make one.
 */
import { readFile } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const DIST = fileURLToPath(new URL("../dist/", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

const NOT_BUILT = `<!doctype html>
<meta charset="utf-8"><title>Build the chat page first</title>
<body style="font: 15px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>The chat page is not built yet</h1>
<p>From the repository root, run:</p>
<pre>node examples/chat/build.ts</pre>
<p>then reload. The agent itself is running: <code>/agents/chat/&lt;name&gt;</code>.</p>
</body>`;

/** Answers GET requests for the page and its assets (400 for a path that cannot be decoded); `undefined` for anything else. */
export async function servePage(request: Request): Promise<Response | undefined> {
  if (request.method !== "GET" && request.method !== "HEAD") return undefined;
  const { pathname } = new URL(request.url);
  let file: string;
  try {
    file = pathname === "/" ? "index.html" : decodeURIComponent(pathname.slice(1));
  } catch {
    // A "%" that starts no valid escape.
    return new Response("Bad request: malformed percent-encoding in the path", { status: 400 });
  }
  const path = normalize(join(DIST, file));
  if (!path.startsWith(DIST) || path.includes(`${sep}.`)) return undefined;
  try {
    const body = await readFile(path);
    const cache = file.startsWith("assets/") ? "public, max-age=31536000, immutable" : "no-cache";
    return new Response(body, { headers: { "content-type": TYPES[extname(path)] ?? "application/octet-stream", "cache-control": cache } });
  } catch {
    if (file !== "index.html") return undefined;
    return new Response(NOT_BUILT, { status: 503, headers: { "content-type": "text/html; charset=utf-8" } });
  }
}
