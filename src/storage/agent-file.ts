import { createHash } from "node:crypto";
import { join } from "node:path";

/**
 * Paths made lately, oldest first: a path costs a SHA-256 and a Unicode normalization (~2–4 µs), and
 * every event delivered to an agent (a request, a schedule run, a stub's call) asks for one.
 */
const recentPaths = new Map<string, string>();
const RECENT_PATHS = 10_000;

/**
 * Where an agent's database lives: `<dataDir>/agents/<class>/<xx>/<slug>-<hash>.sqlite`.
 *
 * The name never reaches the path as-is. The hash (128 bits of SHA-256 over class and name) makes the
 * file unique; the slug is only a readable hint built from `[a-z0-9-]`, so `..`, `/`, NUL or unicode
 * cannot escape the data directory. `xx` shards directories so 100,000s of agents stay listable.
 */
export function agentFilePath(dataDir: string, classSlug: string, name: string): string {
  const key = `${dataDir}\0${classSlug}\0${name}`;
  const known = recentPaths.get(key);
  if (known !== undefined) return known;
  const hash = createHash("sha256").update(classSlug).update("\0").update(name).digest("hex").slice(0, 32);
  const slug = readableSlug(name);
  const file = slug ? `${slug}-${hash}.sqlite` : `${hash}.sqlite`;
  const path = join(dataDir, "agents", classSlug, hash.slice(0, 2), file);
  if (recentPaths.size >= RECENT_PATHS) recentPaths.delete(recentPaths.keys().next().value!);
  recentPaths.set(key, path);
  return path;
}

/** A readable, path-safe hint of a name (`[a-z0-9-]`, at most 32 characters); never unique on its own. */
export function readableSlug(name: string): string {
  return name
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 32)
    .replace(/-+$/, "");
}
