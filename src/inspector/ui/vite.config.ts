/**
 * Builds the inspector's web UI into dist/inspector/ (index.html + assets/), which the inspector's
 * HTTP server serves as static files. Run by `npm run build`; users never build it.
 *
 * Chosen so the output runs under `Content-Security-Policy: default-src 'self'`: no inlined assets
 * (data: URLs), no module-preload polyfill (an inline helper), CSS in files.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));
/** Where the server looks for the UI. */
export const defaultOutDir = fileURLToPath(new URL("../../../dist/inspector", import.meta.url));

/** dist/inspector also holds the compiled server code: remove only what an earlier UI build wrote. */
function removeEarlierBuild(outDir: () => string): Plugin {
  return {
    name: "hearth-inspector-remove-earlier-build",
    apply: "build",
    buildStart() {
      rmSync(join(outDir(), "assets"), { recursive: true, force: true });
      rmSync(join(outDir(), "index.html"), { force: true });
    },
  };
}

export default defineConfig((env) => {
  let outDir = defaultOutDir;
  return {
    root,
    base: "./",
    publicDir: false,
    logLevel: env.mode === "production" ? "warn" : "info",
    oxc: { jsx: { runtime: "automatic", importSource: "preact", development: env.command !== "build" } },
    // Always the production build of Preact and signals, even when built under NODE_ENV=test.
    define: env.command === "build" ? { "process.env.NODE_ENV": JSON.stringify("production") } : {},
    plugins: [
      {
        name: "hearth-inspector-out-dir",
        configResolved(config) {
          outDir = config.build.outDir;
        },
      },
      removeEarlierBuild(() => outDir),
    ],
    build: {
      outDir,
      emptyOutDir: false,
      assetsDir: "assets",
      assetsInlineLimit: 0,
      modulePreload: { polyfill: false },
      target: "es2022",
      cssCodeSplit: true,
      reportCompressedSize: false,
      chunkSizeWarningLimit: 200,
    },
  };
});
