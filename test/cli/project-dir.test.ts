import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseCommandLine, type RunOptions } from "../../src/cli/args.ts";
import { checkConfigFile, resolveProject } from "../../src/cli/project.ts";

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
    expect(project.entry?.path).toBe(join(cwd, "app", "src", "index.ts"));
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

describe("--config <directory>", () => {
  it("is a usage error saying a config file was expected, with the file and the project argument to use", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "hearth-project-dir-"));
    dirs.push(cwd);
    mkdirSync(join(cwd, "app", "src"), { recursive: true });
    writeFileSync(join(cwd, "app", "wrangler.toml"), `main = "src/index.ts"\n`);
    writeFileSync(join(cwd, "app", "src", "index.ts"), "export default {};");
    const expected =
      "--config app is a directory; --config takes a wrangler config file (wrangler.jsonc, wrangler.json or wrangler.toml): " +
      `use --config ${join("app", "wrangler.toml")}, or give the directory as the project: `;
    for (const command of ["dev", "start"]) {
      const refused = resolveProject(options([command, "--config", "app"], cwd), cwd);
      await expect(refused).rejects.toMatchObject({ kind: "usage", message: `${expected}hearth ${command} app` });
    }
    // The tools (d1, secret) have no project argument; a directory without a config has no file to offer.
    expect(() => checkConfigFile(join(cwd, "app"), cwd)).toThrow(new RegExp(`: use --config ${join("app", "wrangler.toml")}$`));
    expect(() => checkConfigFile(join(cwd, "app", "src"), cwd)).toThrow(
      `--config ${join("app", "src")} is a directory; --config takes a wrangler config file (wrangler.jsonc, wrangler.json or wrangler.toml), and there is none in ${join("app", "src")}`,
    );
  });
});
