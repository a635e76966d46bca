/**
 * `hearth inspect <command> …`: the inspector's HTTP API from the command line, for scripts and coding
 * agents. JSON out by default (`--pretty` for tables). The URL and token come from `--url` / `--token`
 * (`--admin-token` for changes) or HEARTH_INSPECTOR_URL / HEARTH_INSPECTOR_TOKEN /
 * HEARTH_INSPECTOR_ADMIN_TOKEN; a URL carrying `#token=…` (as the banner prints it) brings its token.
 * The commands are planned in inspect/plan-*.ts, one file per group.
 */
import { parseArgs, UsageError, type Parsed } from "./inspect/args.ts";
import { connectionOf, redact, secretsOf } from "./inspect/connection.ts";
import { follow } from "./inspect/follow.ts";
import { call, requestFailure } from "./inspect/http.ts";
import { pretty, processIo, type InspectIo } from "./inspect/output.ts";
import { planCommand } from "./inspect/plan.ts";
import { INSPECT_USAGE } from "./inspect/usage.ts";

export { pretty, type InspectIo } from "./inspect/output.ts";
export { INSPECT_USAGE } from "./inspect/usage.ts";

/** Exit statuses: 0 done, 1 the API refused or failed, 2 a usage error. */
export const INSPECT_EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * Runs `hearth inspect …`; resolves to the exit status. Nothing it prints holds a token.
 * @example
 * process.exitCode = await runInspectCommand(["state", "Counter/a"], process.cwd(), process.env);
 */
export async function runInspectCommand(argv: string[], _cwd: string, env: NodeJS.ProcessEnv, io: InspectIo = processIo()): Promise<number> {
  let parsed: Parsed | undefined;
  const stderr = (text: string) => io.stderr(redact(text, secretsOf(parsed, env)));
  try {
    parsed = parseArgs(argv);
    if (parsed.flags.has("help") || parsed.positional.length === 0) {
      io.stdout(INSPECT_USAGE);
      return parsed.positional.length === 0 && !parsed.flags.has("help") ? INSPECT_EXIT.usage : INSPECT_EXIT.ok;
    }
    const request = planCommand(parsed);
    const { base, token, adminToken } = connectionOf(parsed, env);
    const useToken = request.write ? (adminToken ?? token) : token;
    if (request.follow) return await follow(base, useToken, request.follow, { ...io, stderr });
    const response = await call(base, useToken, request.method, request.path, request.body);
    const text = await response.text();
    if (!response.ok) {
      stderr(requestFailure(response.status, text));
      return INSPECT_EXIT.failed;
    }
    if (request.text) io.stdout(text);
    else {
      const body = text === "" ? null : (JSON.parse(text) as unknown);
      io.stdout(parsed.flags.has("pretty") ? pretty(body) : JSON.stringify(body, null, 2) + "\n");
    }
    return INSPECT_EXIT.ok;
  } catch (error) {
    if (error instanceof UsageError) {
      stderr(`hearth inspect: ${error.message}\n(hearth inspect --help lists the commands)\n`);
      return INSPECT_EXIT.usage;
    }
    stderr(`hearth inspect: ${error instanceof Error ? error.message : String(error)}\n`);
    return INSPECT_EXIT.failed;
  }
}
