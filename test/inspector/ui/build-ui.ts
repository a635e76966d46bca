/**
 * Builds the inspector UI with its real Vite config into a directory, once per test file, and
 * measures what the first page load fetches.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const UI_CONFIG = fileURLToPath(new URL("../../../src/inspector/ui/vite.config.ts", import.meta.url));

/** Runs `vite build` with the inspector's config, writing into `outDir`. */
export async function buildUi(outDir: string): Promise<void> {
  const { build } = await import("vite");
  await build({ configFile: UI_CONFIG, logLevel: "silent", build: { outDir } });
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
