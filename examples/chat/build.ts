/**
 * Builds the chat example's page (React, `web/`) with Vite into `dist/`, where the server's
 * fetch handler serves it from. Run `node examples/chat/build.ts` from the repository root.
 *
 * Inside this repository `hearth/react` and `hearth/client` resolve to the source in `src/`, so
 * the page always uses the current `useAgentChat`; in a project of your own they come from the
 * installed package and the aliases go away.
 */
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { build } from "vite";

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** Where the built page goes. */
export const DIST_DIR = here("./dist/");

/**
 * Builds the page; resolves when `dist/` holds `index.html` and its assets.
 *
 * @example
 * ```ts
 * await buildChatPage({ quiet: true });
 * ```
 */
export async function buildChatPage(options: { quiet?: boolean } = {}): Promise<void> {
  await build({
    root: here("./web/"),
    configFile: false,
    logLevel: options.quiet ? "warn" : "info",
    plugins: [react()],
    resolve: {
      alias: {
        "hearth/react": here("../../src/react/index.ts"),
        "hearth/client": here("../../src/client/index.ts"),
      },
    },
    build: { outDir: DIST_DIR, emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1024 },
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildChatPage();
  console.log(`Built the chat page into ${DIST_DIR}`);
}
