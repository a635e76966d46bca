/**
 * Hyperdrive bindings under `hearth start`, as `wrangler dev` makes them: `env.HYPERDRIVE` holds the
 * fields of the local connection string (from CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_<BINDING>,
 * else the binding's `localConnectionString`), and start-up stops without one. No database is needed
 * to read the fields; the password never reaches the output.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, cleanup, requireBuild, runCli, tempDir } from "./helpers.ts";

beforeAll(requireBuild);
afterEach(cleanup);

const VARIABLE = "CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE";

const WORKER = `import { env as moduleEnv } from "cloudflare:workers";

// Bindings exist while the module loads, as on Cloudflare.
const hostAtLoad = moduleEnv.HYPERDRIVE.host;

export default {
  fetch(request, env) {
    const { connectionString, host, port, user, password, database } = env.HYPERDRIVE;
    console.log(\`connecting to \${connectionString} as \${user} with \${password}\`);
    return Response.json({ connectionString, host, port, user, password, database, hostAtLoad, connects: typeof env.HYPERDRIVE.connect });
  },
};
`;

async function project(hyperdrive: Record<string, unknown>): Promise<string> {
  const dir = await tempDir("hearth-hyperdrive-");
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "wrangler.jsonc"), JSON.stringify({ name: "app", main: "src/index.ts", hyperdrive: [hyperdrive] }, null, 2));
  writeFileSync(join(dir, "src", "index.ts"), WORKER);
  return dir;
}

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base = cleanEnv(extra);
  for (const key of Object.keys(base)) if (key.includes("HYPERDRIVE_LOCAL_CONNECTION_STRING") && !(key in extra)) delete base[key];
  return base;
}

/** Starts the project, reads `/` once, and stops it. */
async function serveOnce(dir: string, extra: Record<string, string> = {}): Promise<{ output: string; body: unknown }> {
  const server = runCli(["start", "--port", "0"], { cwd: dir, env: env(extra) });
  const response = await fetch(await server.ready(), { headers: { connection: "close" } });
  const body: unknown = await response.json();
  server.proc.kill("SIGTERM");
  expect((await server.exited()).code).toBe(0);
  return { output: server.output(), body };
}

describe("a hyperdrive binding", () => {
  it("is env.HYPERDRIVE with the fields of the connection string in CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE, which wins over the config's", async () => {
    const dir = await project({ binding: "HYPERDRIVE", id: "a76a99bc", localConnectionString: "postgres://config:config-pw@db.internal/configured" });
    const connectionString = "postgresql://app:s3cret-pw@127.0.0.1:5433/app_db?sslmode=disable";
    const served = await serveOnce(dir, { [VARIABLE]: connectionString });
    expect(served.body).toEqual({
      connectionString,
      host: "127.0.0.1",
      port: 5433,
      user: "app",
      password: "s3cret-pw",
      database: "app_db",
      hostAtLoad: "127.0.0.1",
      connects: "function",
    });
    expect(served.output).toMatch(/Hyperdrive HYPERDRIVE/);
    // The worker logged the connection string and the password: the logs scrub both, as they scrub secrets.
    expect(served.output).toContain("connecting to");
    expect(served.output).not.toContain("s3cret-pw");
    expect(served.output).not.toContain("config-pw");
    expect(served.output).not.toContain("is not available on Hearth");
  });

  it("takes the binding's localConnectionString without the variable (default port 5432)", async () => {
    const dir = await project({ binding: "HYPERDRIVE", id: "a76a99bc", localConnectionString: "postgres://config:config-pw@db.internal/configured" });
    const served = await serveOnce(dir);
    expect(served.body).toMatchObject({ host: "db.internal", port: 5432, user: "config", password: "config-pw", database: "configured" });
    expect(served.output).not.toContain("config-pw");
  });

  it("takes the variable from a .env file next to the config, as wrangler reads .env", async () => {
    const dir = await project({ binding: "HYPERDRIVE", id: "a76a99bc" });
    writeFileSync(join(dir, ".env"), `${VARIABLE}=postgres://dotenv:dotenv-pw@localhost:6432/from_file\n`);
    const served = await serveOnce(dir);
    expect(served.body).toMatchObject({ port: 6432, user: "dotenv", database: "from_file" });
    expect(served.output).not.toContain("dotenv-pw");
  });

  it("reads wrangler's earlier variable, WRANGLER_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE, with a warning", async () => {
    const dir = await project({ binding: "HYPERDRIVE", id: "a76a99bc" });
    const served = await serveOnce(dir, { WRANGLER_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: "mysql://root:legacy-pw@localhost/shop" });
    expect(served.body).toMatchObject({ host: "localhost", port: 3306, user: "root", database: "shop" });
    expect(served.output).toContain(`WRANGLER_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE is wrangler's earlier name for ${VARIABLE}`);
    expect(served.output).not.toContain("legacy-pw");
  });

  it("without a connection string stops start-up, naming the binding and both ways to give one", async () => {
    const dir = await project({ binding: "HYPERDRIVE", id: "a76a99bc" });
    const server = runCli(["start", "--port", "0"], { cwd: dir, env: env() });
    expect((await server.exited()).code).not.toBe(0);
    expect(server.stderr()).toContain(
      `env.HYPERDRIVE (hyperdrive in wrangler.jsonc) has no local database to connect to. Set ${VARIABLE} in the environment (or .env), ` +
        `or "localConnectionString" on the binding in wrangler.jsonc, to its connection string`,
    );
  });

  it("with a connection string that cannot be used stops start-up without printing it", async () => {
    const dir = await project({ binding: "HYPERDRIVE", id: "a76a99bc" });
    const server = runCli(["start", "--port", "0"], { cwd: dir, env: env({ [VARIABLE]: "https://admin:t0p-s3cret@db.example.com/app" }) });
    expect((await server.exited()).code).not.toBe(0);
    expect(server.stderr()).toContain(`env.HYPERDRIVE: the connection string from ${VARIABLE} has the scheme "https:"`);
    expect(server.output()).not.toContain("t0p-s3cret");
  });
});
