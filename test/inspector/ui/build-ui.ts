/**
 * Builds the inspector UI with its real Vite config, and measures what the first page load fetches.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const UI_CONFIG = fileURLToPath(new URL("../../../src/inspector/ui/vite.config.ts", import.meta.url));
const UI_ROOT = path.dirname(UI_CONFIG);
const LOCKFILE = fileURLToPath(new URL("../../../package-lock.json", import.meta.url));

/** Runs `vite build` with the inspector's config, writing into `outDir`. */
export async function buildUi(outDir: string): Promise<void> {
  const { build } = await import("vite");
  await build({ configFile: UI_CONFIG, logLevel: "silent", build: { outDir } });
}

let shared: Promise<string> | undefined;

/**
 * The UI built from the source as it is now, once for all the files that serve or inspect it (each
 * built its own before, ~1.5 s of CPU a time): in the temp directory, under a hash of every file the
 * build reads (src/inspector/ui, the Vite config among them, and package-lock.json for the versions of
 * Vite and the UI's packages). A file that finds the build under way waits for it. Read-only: the
 * files using it must not write into it.
 */
export function sharedUi(): Promise<string> {
  shared ??= buildShared().catch((error: unknown) => {
    shared = undefined;
    throw error;
  });
  return shared;
}

async function buildShared(): Promise<string> {
  const hash = createHash("sha256").update(fs.readFileSync(LOCKFILE));
  for (const file of (fs.readdirSync(UI_ROOT, { recursive: true }) as string[]).sort()) {
    const full = path.join(UI_ROOT, file);
    if (fs.statSync(full).isFile()) hash.update(`\0${file}\0`).update(fs.readFileSync(full));
  }
  const dir = path.join(os.tmpdir(), `hearth-inspector-ui-build-${hash.digest("hex").slice(0, 16)}`);
  const lock = `${dir}.lock`;
  const deadline = Date.now() + 120_000;
  while (!fs.existsSync(dir)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for the inspector UI build in ${dir}`);
    try {
      fs.mkdirSync(lock);
    } catch {
      // Another process builds it; a lock whose holder died (or never said who it is) is taken over.
      if (stale(lock)) fs.rmSync(lock, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    try {
      fs.writeFileSync(path.join(lock, "pid"), String(process.pid));
      // Only a whole build is renamed into place: the directory, once there, is complete.
      if (!fs.existsSync(dir)) {
        const partial = `${dir}.${process.pid}.tmp`;
        fs.rmSync(partial, { recursive: true, force: true });
        await buildUi(partial);
        fs.renameSync(partial, dir);
      }
    } finally {
      fs.rmSync(lock, { recursive: true, force: true });
    }
  }
  return dir;
}

function stale(lock: string): boolean {
  let holder = 0;
  try {
    holder = Number(fs.readFileSync(path.join(lock, "pid"), "utf8"));
  } catch {
    // not written yet, or the lock is gone
  }
  if (Number.isInteger(holder) && holder > 0) {
    try {
      process.kill(holder, 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === "ESRCH";
    }
  }
  // No holder named (yet): stale only once the lock is old.
  try {
    return Date.now() - fs.statSync(lock).mtimeMs > 30_000;
  } catch {
    return false;
  }
}

/** The scripts index.html loads at first (its module scripts and their static imports). */
export function firstLoadScripts(outDir: string): string[] {
  const html = fs.readFileSync(path.join(outDir, "index.html"), "utf8");
  const entries = [...html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g), ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)].map(
    (match) => path.join(outDir, match[1] ?? ""),
  );
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = fs.readFileSync(file, "utf8");
    // Static imports only (`import … from "./x.js"` / `import "./x.js"`); `import("./x.js")` is lazy.
    for (const match of code.matchAll(/(?:^|[;\s}])import\s*(?:[\w*{}\s,$]+from\s*)?["'](\.{1,2}\/[^"']+\.js)["']/g)) {
      visit(path.resolve(path.dirname(file), match[1] ?? ""));
    }
  };
  entries.forEach(visit);
  return [...seen];
}

/** Bytes of JavaScript (uncompressed) the first load fetches. */
export function firstLoadBytes(outDir: string): number {
  return firstLoadScripts(outDir).reduce((sum, file) => sum + fs.statSync(file).size, 0);
}
