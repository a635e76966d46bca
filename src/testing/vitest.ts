import { transform } from "esbuild";

/** The part of a Vite plugin this one uses (typed here so Hearth needs no Vite types). */
export interface DecoratorPlugin {
  name: string;
  enforce: "pre";
  transform(code: string, id: string): Promise<{ code: string; map: string } | null>;
}

/**
 * A Vite/Vitest plugin that compiles standard (TC39) decorators such as `@callable()`: Vite's own
 * TypeScript transform only knows legacy decorators. It uses esbuild, as `hearth dev` does.
 * @example
 * // vitest.config.ts
 * import { defineConfig } from "vitest/config";
 * import { hearthDecorators } from "hearth/testing/vitest";
 * export default defineConfig({ plugins: [hearthDecorators()] });
 */
export function hearthDecorators(): DecoratorPlugin {
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
