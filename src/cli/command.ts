/**
 * The `hearth` command: `hearth dev <entry>` and `hearth start <entry>`. See `hearth --help`.
 * Loaded by main.ts, once Node's compile cache is on.
 * @module
 */
import { readVersion } from "./version.ts";
import { parseCommandLine, usageOf } from "./args.ts";
import { loadVarFiles } from "./env-files.ts";
import { CliError, EXIT_FAILURE, describeUnexpected } from "./errors.ts";
import { printError } from "./output.ts";
import { TOOLS } from "./tools.ts";

async function main(argv: readonly string[]): Promise<void> {
  const cwd = process.cwd();
  // HEARTH_PORT and friends may also come from .env / .dev.vars; the real environment wins.
  let fileVars: Record<string, string> = {};
  try {
    fileVars = loadVarFiles(cwd, process.env).vars;
  } catch {
    // Reported by the server when it loads vars for real; flags and the environment still apply.
  }
  const tool = TOOLS[argv[0] ?? ""];
  if (tool !== undefined) {
    process.exitCode = await tool(argv.slice(1), cwd, { ...fileVars, ...process.env });
    return;
  }
  const request = parseCommandLine(argv, { ...fileVars, ...process.env }, cwd);
  switch (request.kind) {
    case "help":
      process.stdout.write(usageOf(request.command));
      return;
    case "version":
      process.stdout.write(`${readVersion()}\n`);
      return;
    case "serve":
      // The runtime loads here, not for `--help`, `--version` or a mistyped flag.
      if (request.options.command === "dev") await (await import("./dev.ts")).runDev(request.options, cwd);
      else await (await import("./start.ts")).runStart(request.options, cwd);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof CliError) {
    printError(error.message);
    process.exit(error.exitCode);
  }
  printError(describeUnexpected(error));
  process.exit(EXIT_FAILURE);
});
