/**
 * Hearth's own repeating and deferred work runs on Node's timers, imported from `node:timers`, not on
 * the globals an application's fake timers replace (decision 0031): an interval or an immediate made
 * while vitest's fake timers were on never fires once they are gone, and a batch that waited on one
 * stopped every later batch of its kind. Read from the source: any call of `setImmediate` or
 * `setInterval` in a module must be Node's own, imported by name. Browser code is not Node's.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { describe, expect, it } from "vitest";
import { sourceFiles, SRC } from "./source-tree.ts";

/** Code that runs in a browser, where `node:timers` does not exist. */
const BROWSER = /^inspector\/ui\//;
const CALL = /(?<![.\w])(setImmediate|setInterval)\(/g;
const IMPORTED = /import \{([^}]*)\} from "node:timers";/;

describe("Hearth's own timers", () => {
  it("are Node's, imported from node:timers, wherever an immediate or an interval is made", () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const path = relative(SRC, file);
      if (BROWSER.test(path)) continue;
      const text = readFileSync(file, "utf8");
      const imported = new Set((IMPORTED.exec(text)?.[1] ?? "").split(",").map((name) => name.trim()));
      for (const [, name] of text.matchAll(CALL)) if (!imported.has(name!)) offenders.push(`${path}: ${name}`);
    }
    expect([...new Set(offenders)]).toEqual([]);
  });
});
