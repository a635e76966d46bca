import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

/** A root agent found on disk: its storage slug and name (from its file's identity) and the file's times. */
export interface FoundAgent {
  slug: string;
  name: string;
  createdAt: number;
  lastActiveAt: number;
}

/**
 * Every root agent stored under `<dataDir>/agents/<slug>/<xx>/*.sqlite`. File names are hashes, so
 * each file is opened for the name its `_hearth_meta` identity (`<slug>/<name>`) records;
 * the file's birth and modification times stand in for created and last active. Unreadable files are
 * skipped with a message. Opening every file is slow for many agents: this runs once per data directory.
 */
export function* scanAgentFiles(dataDir: string): Generator<FoundAgent> {
  const root = join(dataDir, "agents");
  for (const slug of list(root)) {
    for (const fanout of list(join(root, slug))) {
      for (const file of list(join(root, slug, fanout))) {
        if (!file.endsWith(".sqlite")) continue;
        const found = readAgent(join(root, slug, fanout, file));
        if (found) yield found;
      }
    }
  }
}

function readAgent(file: string): FoundAgent | undefined {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(file); // not read-only: a file left with a WAL by a crash needs recovering first
    const identity = db.prepare("SELECT value FROM _hearth_meta WHERE key = 'identity'").get()?.value;
    if (typeof identity !== "string") return undefined;
    const slash = identity.indexOf("/");
    // A root's identity is "<slug>/<name>"; a child's adds its path after NULs (children live elsewhere anyway).
    if (slash < 0 || identity.includes("\0")) return undefined;
    const stat = statSync(file);
    const createdAt = stat.birthtimeMs > 0 ? stat.birthtimeMs : stat.ctimeMs;
    return { slug: identity.slice(0, slash), name: identity.slice(slash + 1), createdAt: Math.floor(createdAt), lastActiveAt: Math.floor(stat.mtimeMs) };
  } catch (error) {
    console.error(`[hearth] building the agent catalog: skipped ${file}:`, error instanceof Error ? error.message : error);
    return undefined;
  } finally {
    db?.close();
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
