import { transform } from "esbuild";
import type { Plugin } from "vite";

/**
 * Vite's TypeScript transform only knows legacy decorators. This lowers standard (TC39) decorators
 * such as `@callable()` with esbuild — the same compiler `hearth dev` uses — before Vite sees the file.
 */
export function standardDecorators(): Plugin {
  return {
    name: "hearth:standard-decorators",
    enforce: "pre",
    async transform(code, id) {
      if (!/\.(c|m)?tsx?$/.test(id) || id.includes("/node_modules/") || !/^\s*@\w/m.test(code)) return null;
      const result = await transform(code, {
        loader: id.endsWith("x") ? "tsx" : "ts",
        target: "es2022",
        sourcemap: true,
        sourcefile: id,
        tsconfigRaw: { compilerOptions: { experimentalDecorators: false, useDefineForClassFields: true } },
      });
      return { code: result.code, map: result.map };
    },
  };
}
