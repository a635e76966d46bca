/**
 * Serves the pages from `examples/agent-builder/public/`: plain HTML and ES modules, no build step.
 * `/` is the customer's page, `/operator` the operator's.
 */
import { readFile } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const PUBLIC = fileURLToPath(new URL("../public/", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

const PAGES: Record<string, string> = { "/": "index.html", "/operator": "operator.html" };

/** Answers GET requests for the pages and their files; `undefined` for anything else. */
export async function servePublic(request: Request): Promise<Response | undefined> {
  if (request.method !== "GET" && request.method !== "HEAD") return undefined;
  const { pathname } = new URL(request.url);
  let file: string;
  try {
    file = PAGES[pathname] ?? decodeURIComponent(pathname.slice(1));
  } catch {
    return new Response("Bad request: malformed percent-encoding in the path", { status: 400 });
  }
  const path = normalize(join(PUBLIC, file));
  if (!path.startsWith(PUBLIC) || path.includes(`${sep}.`) || !(extname(path) in TYPES)) return undefined;
  try {
    return new Response(await readFile(path), { headers: { "content-type": TYPES[extname(path)]!, "cache-control": "no-cache" } });
  } catch {
    return undefined;
  }
}
