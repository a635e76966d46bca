/** A stored secret cannot take a name the wrangler config gives to a var or a binding: `hearth secret` refuses it, start-up stops on one. */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { openSecretStore, secretsFilePath } from "../../src/secrets/index.ts";
import { CLI, cleanEnv, cleanup, requireBuild, runCli, tempDir } from "./helpers.ts";

beforeAll(requireBuild);
afterEach(cleanup);

const VALUE = "sk-live-CLASH-MARKER-5d1e";

const CONFIG = {
  main: "src/index.ts",
  vars: { SHARED: "fromvar", TOKEN: "local stand-in" },
  secrets: { required: ["TOKEN"] },
  kv_namespaces: [{ binding: "KV" }],
  secrets_store_secrets: [{ binding: "STRIPE", store_id: "s", secret_name: "STRIPE_KEY" }],
  env: { staging: { vars: { OTHER: "x" } } },
};

const ENTRY = `export default {
  async fetch(request, env) {
    return Response.json({ shared: env.SHARED, token: env.TOKEN, kv: typeof env.KV.get, stripe: await env.STRIPE.get() });
  },
};
`;

async function project(config: object = CONFIG): Promise<string> {
  const dir = await tempDir("hearth-secret-names-");
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "wrangler.jsonc"), JSON.stringify(config));
  writeFileSync(join(dir, "src", "index.ts"), ENTRY);
  return dir;
}

function hearth(dir: string, args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, env: cleanEnv(), input, encoding: "utf8", timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const putRefused = (name: string, declared: string, kind = "binding") =>
  `error secret name "${name}" is already in use by ${declared} in wrangler.jsonc: env.${name} holds one value ` +
  `(wrangler refuses it too: "Binding name '${name}' already in use"). Use another name, or remove the ${kind} from the config first`;

describe("hearth secret put and bulk", () => {
  it("refuse a name the config gives to a var or a binding, as wrangler does, and save nothing", async () => {
    const dir = await project();
    const shared = hearth(dir, ["secret", "put", "SHARED"], VALUE);
    expect(shared.status).toBe(1);
    expect(shared.stderr).toBe(`${putRefused("SHARED", "the var SHARED", "var")}\n`);
    const kv = hearth(dir, ["secret", "put", "KV"], VALUE);
    expect(kv.status).toBe(1);
    expect(kv.stderr).toBe(`${putRefused("KV", "the kv_namespaces binding KV")}\n`);
    const bulk = hearth(dir, ["secret", "bulk"], JSON.stringify({ FINE: VALUE, SHARED: VALUE, STRIPE: VALUE }));
    expect(bulk.status).toBe(1);
    expect(bulk.stderr).toBe(`${putRefused("SHARED", "the var SHARED", "var")}\n${putRefused("STRIPE", "the secrets_store_secrets binding STRIPE")}\n`);
    for (const result of [shared, kv, bulk]) expect(result.stdout + result.stderr).not.toContain(VALUE);
    expect(openSecretStore({ dataDir: join(dir, ".hearth") }).list()).toEqual([]);
  });

  it("accept a required secret's name (its var is the local stand-in), a Secrets Store secret_name, another environment's names, and deletes", async () => {
    const dir = await project();
    expect(hearth(dir, ["secret", "put", "TOKEN"], "tok").status).toBe(0);
    expect(hearth(dir, ["secret", "put", "STRIPE_KEY"], "stripe").status).toBe(0);
    // The staging environment declares no SHARED var and no KV binding (vars and bindings are not inherited).
    expect(hearth(dir, ["secret", "bulk", "--env", "staging"], JSON.stringify({ SHARED: "s", KV: "k" })).status).toBe(0);
    expect(openSecretStore({ dataDir: join(dir, ".hearth"), envName: "staging" }).list()).toEqual(["KV", "SHARED"]);
    expect(hearth(dir, ["secret", "put", "OTHER", "--env", "staging"], "o").stderr).toContain('error secret name "OTHER" is already in use by the var OTHER');
    // Deleting a clashing secret is how a clash is undone: a bulk null is never refused.
    openSecretStore({ dataDir: join(dir, ".hearth") }).put("KV", "left over");
    const deleted = hearth(dir, ["secret", "bulk"], JSON.stringify({ KV: null }));
    expect(deleted.status).toBe(0);
    expect(openSecretStore({ dataDir: join(dir, ".hearth") }).list()).toEqual(["STRIPE_KEY", "TOKEN"]);
  });

  it("check the config given by --config, and save with a warning when that config cannot be read", async () => {
    const dir = await project();
    const elsewhere = await tempDir("hearth-secret-names-cwd-");
    const refused = hearth(elsewhere, ["secret", "put", "SHARED", "--config", join(dir, "wrangler.jsonc"), "--data", join(dir, ".hearth")], VALUE);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('error secret name "SHARED" is already in use by the var SHARED');
    writeFileSync(join(dir, "wrangler.jsonc"), `{ "main": "src/index.ts", "vars": 5 }`);
    const saved = hearth(dir, ["secret", "put", "SHARED"], VALUE);
    expect(saved.status).toBe(0);
    expect(saved.stderr).toBe("warning the names were not checked against the config's vars and bindings: wrangler.jsonc:1: vars must be an object (got 5)\n");
    expect(saved.stdout).toBe("Saved secret SHARED for the top-level environment.\nCreated the key " + join(dir, ".hearth", "secret.key") + " (mode 0600). Back it up: without it, or HEARTH_SECRET_KEY, these secrets cannot be read.\n");
  });
});

describe("start-up with a stored secret named like a var or a binding", () => {
  const clash = (dir: string, name: string, declared: string, wins: string, kind: string) =>
    `The secret ${name} stored in ${secretsFilePath(join(dir, ".hearth"))} has the name of ${declared} in wrangler.jsonc: ` +
    `env.${name} holds one value, and ${wins} (Cloudflare refuses both together: "Binding name '${name}' already in use"). ` +
    `Delete the secret (hearth secret delete ${name}) or rename the ${kind}.`;

  async function clashingProject(): Promise<string> {
    const dir = await project();
    // Stored before the config declared those names (the commands now refuse them).
    openSecretStore({ dataDir: join(dir, ".hearth") }).apply([
      ["SHARED", VALUE],
      ["KV", VALUE],
      ["TOKEN", "tok"],
      ["STRIPE_KEY", "stripe"],
    ]);
    return dir;
  }

  it("hearth start refuses, one line per clash, and starts once the secrets are deleted", async () => {
    const dir = await clashingProject();
    const refused = hearth(dir, ["start", "--port", "0"]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(
      `${clash(dir, "KV", "the kv_namespaces binding KV", "the binding would silently hide the secret", "binding")}\n` +
        `${clash(dir, "SHARED", "the var SHARED", "the secret would silently replace the var", "var")}\n`,
    );
    expect(refused.stdout + refused.stderr).not.toContain(VALUE);
    expect(hearth(dir, ["secret", "delete", "SHARED"]).status).toBe(0);
    expect(hearth(dir, ["secret", "delete", "KV"]).status).toBe(0);
    const server = runCli(["start", "--port", "0"], { cwd: dir });
    const url = await server.ready();
    expect(await (await fetch(url)).json()).toEqual({ shared: "fromvar", token: "tok", kv: "function", stripe: "stripe" });
  });

  it("hearth dev reports the clash as a config error, and serves once the config no longer clashes", async () => {
    const dir = await clashingProject();
    const server = runCli(["dev", "--port", "0"], { cwd: dir });
    await server.waitFor(/could not be served .* fix it and save to retry/);
    expect(server.stderr()).toContain(clash(dir, "SHARED", "the var SHARED", "the secret would silently replace the var", "var"));
    expect(server.output()).not.toContain(VALUE);
    // Renaming the var and the binding in the config is a fix dev sees.
    writeFileSync(join(dir, "wrangler.jsonc"), JSON.stringify({ ...CONFIG, vars: { SHARED_DEFAULT: "fromvar", TOKEN: "stand-in" }, kv_namespaces: [{ binding: "CACHE" }] }));
    const url = await server.ready();
    expect((await fetch(url)).status).toBe(200);
  });
});
