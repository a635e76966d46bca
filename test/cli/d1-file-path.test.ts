import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, cleanup, requireBuild, runCli, tempDir } from "./helpers.ts";

/**
 * `hearth d1 execute --file <path>` reads the file from the directory the command runs in, as
 * `wrangler d1 execute --file` does, wherever the wrangler config is.
 */
describe("hearth d1 execute --file", () => {
  let project: string;
  let elsewhere: string;
  beforeAll(async () => {
    requireBuild();
    project = await tempDir("hearth-d1-file-");
    elsewhere = join(project, "scripts");
    mkdirSync(elsewhere);
    writeFileSync(
      join(project, "wrangler.jsonc"),
      JSON.stringify({ name: "p", main: "index.js", compatibility_date: "2025-01-01", d1_databases: [{ binding: "DB", database_name: "app", database_id: "x" }] }),
    );
    writeFileSync(join(project, "index.js"), "export default { fetch: () => new Response('ok') };\n");
    // Only the working directory has seed.sql: read from the config's folder, it would not be found.
    writeFileSync(join(elsewhere, "seed.sql"), "CREATE TABLE notes (body TEXT NOT NULL);\nINSERT INTO notes VALUES ('from the working directory');\n");
  });
  afterAll(() => cleanup());

  const d1 = async (args: string[]): Promise<{ code: number | null; output: string }> => {
    const cli = runCli(["d1", ...args, "--config", join(project, "wrangler.jsonc"), "--data", join(project, ".data")], { cwd: elsewhere, env: cleanEnv() });
    const { code } = await cli.exited();
    return { code, output: cli.output() };
  };

  it("resolves a relative path against the current directory, not the config's", async () => {
    const seeded = await d1(["execute", "DB", "--file", "seed.sql"]);
    expect(seeded.output).toContain("2 commands executed successfully (1 row changed).");
    expect(seeded.code).toBe(0);
    const read = await d1(["execute", "DB", "--command", "SELECT body FROM notes", "--json"]);
    expect(read.code).toBe(0);
    expect(JSON.parse(read.output)[0].results).toEqual([{ body: "from the working directory" }]);
  });
});
