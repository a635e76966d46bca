import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseCommandLine, type RunOptions } from "../../src/cli/args.ts";
import { resolveProject } from "../../src/cli/project.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function options(argv: string[], cwd: string): RunOptions {
  const request = parseCommandLine(argv, {}, cwd);
  if (request.kind !== "serve") throw new Error("expected serve");
  return request.options;
}

describe("hearth dev <directory>", () => {
  it("serves the project whose wrangler config is in that directory", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "hearth-project-dir-"));
    dirs.push(cwd);
    mkdirSync(join(cwd, "app", "src"), { recursive: true });
    writeFileSync(join(cwd, "app", "wrangler.jsonc"), `{ "name": "app", "main": "src/index.ts" }`);
    writeFileSync(join(cwd, "app", "src", "index.ts"), "export default {};");
    const project = await resolveProject(options(["dev", "app"], cwd), cwd);
    expect(project.config?.path).toBe(join(cwd, "app", "wrangler.jsonc"));
    expect(project.entry.path).toBe(join(cwd, "app", "src", "index.ts"));
  });

  it("a directory without a wrangler config is a usage error naming it", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "hearth-project-dir-"));
    dirs.push(cwd);
    mkdirSync(join(cwd, "empty"));
    await expect(resolveProject(options(["dev", "empty"], cwd), cwd)).rejects.toThrow(
      "empty is a directory without a wrangler config (wrangler.jsonc, wrangler.json or wrangler.toml): give an entry file, or a project directory",
    );
  });
});
