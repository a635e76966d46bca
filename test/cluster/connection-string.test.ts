import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { redacted } from "../../src/cluster/pg/pool.ts";
import { cleanEnv, cleanup, freePort, requireBuild, runCli, tempDir } from "../cli/helpers.ts";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.ts";

/** A Postgres password never appears in what a node or `hearth cluster status` prints, wherever the connection string carries it. */
const unavailable = postgresUnavailable();
const APP = join(import.meta.dirname, "fixtures", "list-app.ts");
const SECRET = "S3cretPw";

describe("connection strings in messages", () => {
  test("the password, and query parameters that carry secrets, are masked; the rest is kept", () => {
    expect(redacted(`postgres://hearth:${SECRET}@db:5432/hearth`)).toBe("postgres://hearth:***@db:5432/hearth");
    expect(redacted(`postgres://hearth@db/hearth?password=${SECRET}&sslmode=require`)).toBe("postgres://hearth@db/hearth?password=***&sslmode=require");
    expect(redacted(`postgres://hearth@db/hearth?sslkey=/k.pem&sslpassword=${SECRET}&PASSWORD=${SECRET}&password=${SECRET}`)).toBe("postgres://hearth@db/hearth?sslkey=%2Fk.pem&sslpassword=***&PASSWORD=***&password=***");
    expect(redacted(`postgres://hearth@db/hearth?pass%77ord=${SECRET}`)).not.toContain(SECRET);
    expect(redacted(`not a url password=${SECRET}`)).toBe("(the connection string)");
  });
});

describe.skipIf(unavailable !== undefined)("the Postgres password of `--cluster`", () => {
  let connectionString: string;
  beforeAll(async () => {
    requireBuild();
    connectionString = await (await sharedPostgres()).database("redacted");
  }, 30_000);
  afterAll(async () => {
    await cleanup();
  }, 30_000);

  test("is not printed by a node's banner (the connection works: trust authentication ignores it)", async () => {
    const url = new URL(connectionString);
    url.searchParams.set("password", SECRET);
    url.searchParams.set("sslpassword", SECRET);
    const port = await freePort();
    const cli = runCli(["start", APP, "--port", String(port), "--data", await tempDir("hearth-redacted-"), "--cluster", url.toString(), "--node-id", "a", "--advertise", `http://127.0.0.1:${port}`, "--no-traces", "--no-metrics", "--log-level", "warn"], { env: cleanEnv() });
    await cli.ready();
    expect(cli.output()).toContain("password=***&sslpassword=***");
    expect(cli.output()).not.toContain(SECRET);
    cli.proc.kill("SIGTERM");
    await cli.exited();
  }, 60_000);

  test("is not printed by `hearth cluster status` when it cannot read the cluster", async () => {
    const url = `postgres://hearth@127.0.0.1:${await freePort()}/nowhere?password=${SECRET}`;
    const cli = runCli(["cluster", "status", "--cluster", url], { env: cleanEnv() });
    const exit = await cli.exited();
    expect(exit.code).toBe(1);
    expect(cli.output()).toContain("Cannot read the cluster at postgres://hearth@127.0.0.1:");
    expect(cli.output()).toContain("password=***");
    expect(cli.output()).not.toContain(SECRET);
  }, 30_000);
});
