import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanup, requireBuild, runCli, tempDir } from "./helpers.ts";

beforeAll(requireBuild);
afterEach(cleanup);

describe("each command's --help", () => {
  it("prints that command's own usage with status 0, for --help and -h alike", async () => {
    // A directory without a project or a running server: the help needs neither.
    const cwd = await tempDir("hearth-help-");
    const commands = ["dev", "start", "secret", "d1", "inspect", "cluster"];
    const runs = commands.flatMap((command) => ["--help", "-h"].map((flag) => ({ command, flag, cli: runCli([command, flag], { cwd }) })));
    for (const { command, flag, cli } of runs) {
      const { code } = await cli.exited();
      expect({ command, flag, code, stderr: cli.stderr() }).toEqual({ command, flag, code: 0, stderr: "" });
      expect(cli.stdout().split("\n")[0]).toMatch(new RegExp(`^Usage: hearth ${command}\\b`));
    }
    const dev = runs.find((run) => run.command === "dev")!.cli.stdout();
    expect(dev).toContain("--no-inspector");
    expect(dev).not.toContain("secret put|delete|list|bulk");
    const whole = runCli(["--help"], { cwd });
    expect((await whole.exited()).code).toBe(0);
    expect(whole.stdout()).toContain("Each command has its own help: hearth <command> --help.");
  });
});
