/**
 * Runs a child process's TypeScript from source: `node --import ./test/support/ts-hooks.mjs child.ts`.
 *
 * Why not `--import tsx`: tsx's hooks run on a separate loader thread, and every module crosses to it
 * and back; a child importing the runtime spent ~0.6 s of CPU more in them than importing the same
 * modules compiled (2026-12-03: ~1.3 s vs ~0.7 s). These hooks run in the process's own thread
 * (`module.registerHooks`) and keep each compiled file in a cache keyed by its path and text, so a
 * crash test's second, third … process compiles nothing. esbuild compiles as `hearth dev` and the
 * vitest plugin do (standard decorators, JSX).
 *
 * Why JavaScript: were this file TypeScript, Node would load its own type stripper (a WebAssembly
 * module) for it alone, ~0.1 s of CPU in every child (2026-12-04: 0.74 s → 0.63 s to import the
 * runtime). V8's compile cache (`module.enableCompileCache`, checked against each module's text) then
 * saves compiling the runtime's modules again: another ~0.05 s.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire, enableCompileCache, registerHooks } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** @type {typeof import("esbuild")} */
const { transformSync, version } = createRequire(import.meta.url)("esbuild");

const OPTIONS = /** @type {const} */ ({
  format: "esm",
  target: "es2023",
  sourcemap: "inline",
  // Stack traces need the mappings only, not a copy of each source file: Node decodes every inline map
  // as the module loads, and without the sources a child starts ~80 ms (7%) sooner (2026-12-03).
  sourcesContent: false,
  tsconfigRaw: { compilerOptions: { experimentalDecorators: false, useDefineForClassFields: true, verbatimModuleSyntax: true, jsx: "react-jsx" } },
});
const CACHE = join(tmpdir(), `hearth-ts-hooks-${process.getuid?.() ?? "user"}`);
const SALT = `${version} ${JSON.stringify(OPTIONS)}`;
mkdirSync(CACHE, { recursive: true });
enableCompileCache?.(join(CACHE, "v8"));
process.setSourceMapsEnabled(true);

/**
 * The compiled text of `file`, from the cache or compiled now (and cached).
 * @param {string} file
 * @param {string} source
 * @returns {string}
 */
function compile(file, source) {
  const key = createHash("sha256").update(SALT).update("\0").update(file).update("\0").update(source).digest("hex");
  const cached = join(CACHE, `${key}.js`);
  try {
    return readFileSync(cached, "utf8");
  } catch {
    const { code } = transformSync(source, { ...OPTIONS, loader: file.endsWith("x") ? "tsx" : "ts", sourcefile: file });
    // Written aside and renamed: children that start together may compile the same file.
    const partial = `${cached}.${process.pid}.tmp`;
    writeFileSync(partial, code);
    renameSync(partial, cached);
    return code;
  }
}

registerHooks({
  load(url, context, nextLoad) {
    if (!url.startsWith("file:") || !/\.tsx?$/.test(url) || url.includes("/node_modules/")) return nextLoad(url, context);
    const file = fileURLToPath(url);
    return { format: "module", source: compile(file, readFileSync(file, "utf8")), shortCircuit: true };
  },
});
