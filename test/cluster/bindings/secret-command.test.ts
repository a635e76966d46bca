import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { openPostgresSecretStore, secretTables } from "../../../src/cluster/bindings/index.ts";
import { openSecretStore, runSecretCommand, type SecretCommandIo } from "../../../src/secrets/index.ts";
import { CLUSTER_SECRETS } from "../../../src/cluster/bindings/secret-command.ts";
import { postgresUnavailable } from "../../support/postgres.ts";
import { KEY_A, KEY_B } from "../../secrets/contract.ts";
import { VALUE } from "../../secrets/helpers.ts";
import { pgFixture } from "../pg/fixture.ts";

let root: string | undefined;
afterEach(() => {
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
  root = undefined;
});
const dataDir = (): string => join((root ??= mkdtempSync(join(tmpdir(), "hearth-secrets-cluster-"))), "data");

async function run(argv: string[], env: NodeJS.ProcessEnv, stdin = ""): Promise<{ status: number; out: string[]; err: string[]; printed: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: SecretCommandIo = {
    dataDir: dataDir(),
    stdin: Readable.from(stdin === "" ? [] : [Buffer.from(stdin)]),
    isTTY: false,
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    processEnv: env,
    clusterSecrets: async () => CLUSTER_SECRETS,
    cwd: root!,
  };
  const status = await runSecretCommand(argv, io);
  return { status, out, err, printed: [...out, ...err].join("\n") };
}

describe.skipIf(postgresUnavailable() !== undefined)("hearth secret on a cluster", () => {
  const pg = pgFixture("secrets_command");

  async function cluster() {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const read = async (envName?: string) => {
      const store = await openPostgresSecretStore(pool, { schema, keyEnv: KEY_A, envName, watch: false });
      await store.close();
      return store.all();
    };
    return { pool, schema, read, url: pg.url };
  }

  it("put, list, bulk and delete work on the cluster's Postgres with --cluster, leaving the data directory alone", async () => {
    const { schema, read, url } = await cluster();
    const env = { HEARTH_SECRET_KEY: KEY_A };
    const put = await run(["put", "API_KEY", "--cluster", url, "--schema", schema, "--env", "production"], env, `${VALUE}\n`);
    expect(put).toMatchObject({ status: 0, out: ["Saved secret API_KEY for environment production in the cluster."] });
    expect(put.printed).not.toContain(VALUE);
    expect(await read("production")).toEqual({ API_KEY: VALUE });
    const list = await run(["list", `--cluster=${url}`, `--schema=${schema}`, "--env=production"], {});
    expect(JSON.parse(list.out.join("\n"))).toEqual([{ name: "API_KEY", type: "secret_text" }]);
    const bulk = await run(["bulk", "--cluster", url, "--schema", schema, "--env", "production"], env, '{"A": "1", "API_KEY": null}');
    expect(bulk.out.at(-1)).toBe("1 secret saved, 1 deleted, for environment production in the cluster.");
    expect(await read("production")).toEqual({ A: "1" });
    // A delete needs no key.
    expect(await run(["delete", "A", "--cluster", url, "--schema", schema, "--env", "production"], {})).toMatchObject({ status: 0, out: ["Deleted secret A for environment production in the cluster."] });
    expect(await read("production")).toEqual({});
    expect(openSecretStore({ dataDir: dataDir(), envName: "production" }).list()).toEqual([]);
  });

  it("takes the cluster from HEARTH_CLUSTER", async () => {
    const { schema, read, url } = await cluster();
    const result = await run(["put", "TOKEN", "--schema", schema], { HEARTH_CLUSTER: url, HEARTH_SECRET_KEY: KEY_A }, "t0k");
    expect(result).toMatchObject({ status: 0, out: ["Saved secret TOKEN for the top-level environment in the cluster."] });
    expect(await read()).toEqual({ TOKEN: "t0k" });
  });

  it("refuses a put without HEARTH_SECRET_KEY before reading the value, and makes no key file", async () => {
    const { schema, url } = await cluster();
    const result = await run(["put", "API_KEY", "--cluster", url, "--schema", schema], {}, VALUE);
    expect(result.status).toBe(1);
    expect(result.err[0]).toMatch(/^error cannot write the cluster's secrets in .*: HEARTH_SECRET_KEY is not set/);
    expect(result.printed).not.toContain(VALUE);
    expect(openSecretStore({ dataDir: dataDir() }).list()).toEqual([]);
  });

  it("refuses a put with a key that does not match the cluster's secrets", async () => {
    const { schema, url, read } = await cluster();
    await run(["put", "A", "--cluster", url, "--schema", schema], { HEARTH_SECRET_KEY: KEY_A }, "1");
    const result = await run(["put", "B", "--cluster", url, "--schema", schema], { HEARTH_SECRET_KEY: KEY_B }, "2");
    expect(result.status).toBe(1);
    expect(result.err[0]).toContain("error cannot decrypt secrets: HEARTH_SECRET_KEY does not match the key the cluster's secrets");
    expect(await read()).toEqual({ A: "1" });
  });

  it("usage mistakes about the cluster exit 2", async () => {
    expect((await run(["list", "--cluster", "mysql://x"], {})).err[0]).toBe("error --cluster must be a Postgres connection URL (postgres://user@host:5432/database)");
    expect((await run(["list"], { HEARTH_CLUSTER: "db:5432" })).err[0]).toBe("error HEARTH_CLUSTER must be a Postgres connection URL (postgres://user@host:5432/database)");
    expect((await run(["list", "--schema", "x"], {})).err[0]).toBe("error --schema names the cluster's Postgres schema: give --cluster <postgres-url> too");
    expect((await run(["import"], {})).err[0]).toBe("error import copies the data directory's secrets into a cluster: give --cluster <postgres-url> or set HEARTH_CLUSTER");
    expect((await run(["list", "--replace"], {})).err[0]).toBe("error --replace is for import only");
    expect((await run(["list", "--cluster"], {})).status).toBe(2);
  });

  it("says the cluster cannot be reached", async () => {
    const result = await run(["list", "--cluster", "postgres://nobody@127.0.0.1:1/none"], {});
    expect(result.status).toBe(1);
    expect(result.err[0]).toMatch(/^error cannot read secrets from the cluster's Postgres \("hearth"\."secrets" \(the top-level environment\)\): /);
  });

  it("import copies a data directory's secrets, sealed with its key file, into a cluster with another key", async () => {
    const { schema, url, read } = await cluster();
    // A single node: its key is the data directory's key file.
    const local = openSecretStore({ dataDir: dataDir(), envName: "production" });
    local.apply([["API_KEY", VALUE], ["DB", "pw"], ["SHARED", "local"]]);
    await run(["put", "SHARED", "--cluster", url, "--schema", schema, "--env", "production"], { HEARTH_SECRET_KEY: KEY_A }, "cluster");
    const env = { HEARTH_CLUSTER: url, HEARTH_SECRET_KEY: KEY_A };
    const result = await run(["import", "--schema", schema, "--env", "production"], env);
    expect(result).toMatchObject({
      status: 0,
      out: ["Imported secret API_KEY", "Imported secret DB", "Kept secret SHARED: the cluster has it already (--replace overwrites it)", "2 secrets imported, 1 kept, for environment production in the cluster."],
    });
    expect(result.printed).not.toContain(VALUE);
    expect(await read("production")).toEqual({ API_KEY: VALUE, DB: "pw", SHARED: "cluster" });
    const replaced = await run(["import", "--schema", schema, "--env", "production", "--replace"], env);
    expect(replaced.out.at(-1)).toBe("3 secrets imported, 0 kept, for environment production in the cluster.");
    expect(await read("production")).toEqual({ API_KEY: VALUE, DB: "pw", SHARED: "local" });
    // The data directory is left as it was.
    expect(openSecretStore({ dataDir: dataDir(), envName: "production" }).all()).toEqual({ API_KEY: VALUE, DB: "pw", SHARED: "local" });
  });

  it("import needs the cluster's key, and leaves the cluster unchanged without it", async () => {
    const { schema, url, pool } = await cluster();
    openSecretStore({ dataDir: dataDir() }).put("API_KEY", VALUE);
    const result = await run(["import", "--cluster", url, "--schema", schema], {});
    expect(result.status).toBe(1);
    expect(result.err[0]).toContain("HEARTH_SECRET_KEY is not set");
    expect((await pool.query(`SELECT * FROM ${secretTables(schema).secrets}`)).rows).toEqual([]);
  });

  it("import reads a data directory written with HEARTH_SECRET_KEY itself, for a cluster that keeps the node's key", async () => {
    const { schema, url, read } = await cluster();
    openSecretStore({ dataDir: dataDir(), keyEnv: KEY_A }).put("API_KEY", VALUE);
    const result = await run(["import", "--cluster", url, "--schema", schema], { HEARTH_SECRET_KEY: KEY_A });
    expect(result.out).toEqual(["Imported secret API_KEY", "1 secret imported, 0 kept, for the top-level environment in the cluster."]);
    expect(await read()).toEqual({ API_KEY: VALUE });
  });
});
