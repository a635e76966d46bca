/**
 * What a command loads before it does anything: `hearth dev`'s supervisor watches files and restarts
 * its child server, which loads the runtime; the supervisor itself resolves the project (the entry's
 * path, the wrangler config, hearth.config.ts) and should not load the runtime too. It did, through
 * one import, and every `hearth dev` took twice as long to be ready (~1 s more here, 2026-12-07).
 * Read from the source: the modules a file loads as it is imported (static value imports; an
 * `import()` runs when its command needs it).
 */
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { SRC, valueImports } from "./source-tree.ts";

/** Where the runtime comes in: its entry, the host and its platform, an agent, its storage, the server. */
const RUNTIME = new Set(["index.ts", "host/host.ts", "agent/agent-base.ts", "storage/database.ts", "gateway/serve.ts", "sandbox/index.ts", "workflow/index.ts"]);

/** Every source file `entry` loads statically, itself included, relative to src/. */
function staticClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    const name = relative(SRC, file);
    if (seen.has(name)) return;
    seen.add(name);
    for (const specifier of valueImports(file, readFileSync(file, "utf8"), { dynamic: false })) visit(resolve(dirname(file), specifier));
  };
  visit(join(SRC, entry));
  return seen;
}

describe("what the CLI loads at startup", () => {
  it("hearth dev's supervisor, hearth start --threads before its threads are started, and every command's dispatch load neither the runtime nor an agent's machinery", () => {
    for (const entry of ["cli/command.ts", "cli/dev.ts", "cli/start.ts", "cli/threads.ts"]) {
      const loaded = staticClosure(entry);
      expect(loaded.size).toBeGreaterThan(1);
      const heavy = [...loaded].filter((file) => RUNTIME.has(file) || file.startsWith("platform/"));
      expect(heavy, `${entry} loads these at startup`).toEqual([]);
    }
  });

  it("hearth start's server does load the runtime (through an import() once the command is known)", () => {
    const loaded = staticClosure("cli/runtime.ts");
    expect(loaded.has("index.ts")).toBe(true); // what the test above looks for is there to be found
    expect(staticClosure("cli/command.ts").has("cli/runtime.ts")).toBe(false);
    expect(staticClosure("cli/dev.ts").has("cli/project.ts")).toBe(true); // the supervisor resolves the project itself
  });
});
