/**
 * Rebuilds `public/vendor/hearth-client.js`, the one bundled file the page loads: `AgentClient` and
 * `watchTeamRun` of `hearth/client`, as a browser ES module. The page itself is plain ES modules, so
 * running the example needs no build; run this only after changing `hearth/client`:
 * `npx node examples/support-team/build-client.ts` from the repository root.
 *
 * Inside this repository `hearth/client` is the source in `src/client/`; in a project of your own it
 * is the installed package and the alias goes.
 */
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** Where the bundle goes. */
export const CLIENT_BUNDLE = here("./public/vendor/hearth-client.js");

/** What the page imports from the bundle. */
const ENTRY = `export { AgentClient, watchTeamRun } from "hearth/client";`;

/**
 * Bundles the client and returns its text (written to {@link CLIENT_BUNDLE} unless `write` is false).
 *
 * @example
 * ```ts
 * const text = await buildClientBundle({ write: false });
 * ```
 */
export async function buildClientBundle(options: { write?: boolean } = {}): Promise<string> {
  const result = await build({
    stdin: { contents: ENTRY, resolveDir: here("."), sourcefile: "hearth-client-entry.js", loader: "js" },
    // Paths in the bundle's comments are relative to the repository root, wherever this runs from.
    absWorkingDir: here("../.."),
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    legalComments: "inline",
    alias: { "hearth/client": here("../../src/client/index.ts") },
    logLevel: "silent",
  });
  const [output] = result.outputFiles;
  if (output === undefined) throw new Error("esbuild produced no output");
  const text = `// Built by examples/support-team/build-client.ts from hearth/client. Do not edit.\n/* eslint-disable */\n${output.text}`;
  if (options.write !== false) await writeFile(CLIENT_BUNDLE, text);
  return text;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildClientBundle();
  console.log(`Built ${CLIENT_BUNDLE}`);
}
