import { describe, expect, it } from "vitest";
import { planModuleRules } from "../../src/config/module-rules.ts";
import { globPattern, ruleExtensions } from "../../src/cli/module-rules.ts";
import { isWatchedFile } from "../../src/cli/watcher.ts";

const matches = (glob: string, specifier: string): boolean => new RegExp(globPattern(glob)).test(specifier);

describe("a module rule's glob, matched against the import specifier as written (wrangler's bundler)", () => {
  it("lets * stand for any characters, / included", () => {
    for (const specifier of ["./page.html", "../views/page.html", "./a/b/c/page.html", "some-package/templates/page.html"]) {
      expect(matches("**/*.html", specifier), specifier).toBe(true);
    }
    expect(matches("**/*.html", "./page.htm")).toBe(false);
    expect(matches("**/*.html", "./page.html.ts")).toBe(false);
    // The globs need a / in the specifier, as `./` gives every relative import.
    expect(matches("**/*.html", "page.html")).toBe(false);
  });

  it("takes ? and the other characters of regular expressions as themselves", () => {
    expect(matches("**/*.wasm?module", "./add.wasm?module")).toBe(true);
    expect(matches("**/*.wasm?module", "./add.wasmXmodule")).toBe(false);
    expect(matches("**/*.wasm", "./add.wasm?module")).toBe(false);
    expect(matches("./data/[id].txt", "./data/[id].txt")).toBe(true);
    expect(matches("./data/[id].txt", "./data/i.txt")).toBe(false);
    expect(matches("**/*.(md)", "./a.(md)")).toBe(true);
  });
});

describe("the files hearth dev watches for the rules", () => {
  it("are those with the extensions the globs end with", () => {
    const extensions = ruleExtensions(planModuleRules([{ type: "Text", globs: ["**/*.MD", "templates/*"], fallthrough: true }]));
    expect(extensions.sort()).toEqual([".bin", ".html", ".md", ".sql", ".txt", ".wasm"]);
    expect(isWatchedFile("src/page.html", extensions)).toBe(true);
    expect(isWatchedFile("src/add.wasm", extensions)).toBe(true);
    expect(isWatchedFile("README.md", extensions)).toBe(true);
    expect(isWatchedFile("node_modules/x/page.html", extensions)).toBe(false);
    expect(isWatchedFile("src/page.html")).toBe(false);
  });
});
