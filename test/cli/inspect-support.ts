/**
 * A `hearth dev` of test/cli/fixtures/inspect-app.ts with its inspector, and `hearth inspect` run
 * against it as a script would: the built CLI, finding the server through the data directory.
 */
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { cleanup, FIXTURES, requireBuild, runCli, tempDir, until, type CliProcess } from "./helpers.ts";

export const INSPECT_APP = join(FIXTURES, "inspect-app.ts");

/** A finished `hearth inspect`. */
export interface InspectResult {
  code: number | null;
  stdout: string;
  stderr: string;
  json: () => any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface InspectApp {
  /** The server's URL. */
  url: string;
  data: string;
  server: CliProcess;
  /** Runs `hearth inspect <args> --data <data>` to its end. */
  inspect(args: readonly string[]): Promise<InspectResult>;
  /** Starts `hearth inspect <args> --data <data>` (a followed stream) and leaves it running. */
  follow(args: readonly string[]): CliProcess;
  /** A request to the app, so the agent exists (the inspector never creates one) or does something. */
  visit(path: string): Promise<string>;
}

export async function startInspectApp(): Promise<InspectApp> {
  const data = await tempDir("hearth-inspect-");
  const server = runCli(["dev", INSPECT_APP, "--port", "0", "--data", data]);
  const url = await server.ready();
  const withData = (args: readonly string[]) => ["inspect", ...args, "--data", data];
  return {
    url,
    data,
    server,
    async inspect(args) {
      const cli = runCli(withData(args));
      const { code } = await cli.exited();
      return { code, stdout: cli.stdout(), stderr: cli.stderr(), json: () => JSON.parse(cli.stdout()) };
    },
    follow: (args) => runCli(withData(args)),
    visit: async (path) => (await fetch(new URL(path, url))).text(),
  };
}

/** Visits `path` again and again until `done()` holds: the followed stream connects when it does, not at once. */
/**
 * Starts the inspect fixture (the built CLI required) before this file's tests, hands it to `use`, and
 * cleans up after them.
 * @example let app: InspectApp; inspectAppForFile((started) => (app = started));
 */
export function inspectAppForFile(use: (app: InspectApp) => void): void {
  beforeAll(async () => {
    requireBuild();
    use(await startInspectApp());
  }, 120_000);
  afterAll(cleanup);
}

export async function visitUntil(app: InspectApp, path: string, done: () => boolean, what: string): Promise<void> {
  await until(async () => {
    if (done()) return true;
    await app.visit(path);
    return done();
  }, what);
}

/** The whole JSON lines a followed stream printed (not one it is still writing). */
export function jsonLines(text: string): any[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  return text.split("\n").slice(0, -1).map((line) => JSON.parse(line) as unknown);
}
