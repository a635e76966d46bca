import { chmodSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assertRequiredSecrets, loadDevVars, missingRequiredSecrets } from "../../src/config/dev-vars.ts";
import { configError, useProjectDirs } from "./fixture.ts";

const project = useProjectDirs();

describe("loadDevVars: the .dev.vars family", () => {
  it("reads .dev.vars", () => {
    const dir = project({ ".dev.vars": "API_KEY=dev-key\nQUOTED=\"a b\"\n# comment\n" });
    expect(loadDevVars({ dir, processEnv: {} })).toEqual({ vars: { API_KEY: "dev-key", QUOTED: "a b" }, files: [join(dir, ".dev.vars")], warnings: [] });
  });

  it("prefers .dev.vars.<env> over .dev.vars, without merging the two", () => {
    const dir = project({ ".dev.vars": "A=base\nB=base\n", ".dev.vars.staging": "A=staging\n" });
    expect(loadDevVars({ dir, envName: "staging", processEnv: {} })).toEqual({
      vars: { A: "staging" },
      files: [join(dir, ".dev.vars.staging")],
      warnings: [],
    });
  });

  it("falls back to .dev.vars when .dev.vars.<env> does not exist", () => {
    const dir = project({ ".dev.vars": "A=base\n" });
    expect(loadDevVars({ dir, envName: "production", processEnv: {} }).vars).toEqual({ A: "base" });
  });

  it("never combines .dev.vars with the .env family", () => {
    const dir = project({ ".dev.vars": "A=dev\n", ".env": "A=env\nB=env\n", ".env.local": "C=local\n" });
    const loaded = loadDevVars({ dir, processEnv: {} });
    expect(loaded.vars).toEqual({ A: "dev" });
    expect(loaded.files).toEqual([join(dir, ".dev.vars")]);
  });

  it("does not read the process environment for .dev.vars", () => {
    const dir = project({ ".dev.vars": "A=dev\n" });
    expect(loadDevVars({ dir, processEnv: { A: "process", CLOUDFLARE_INCLUDE_PROCESS_ENV: "true", HOME: "/home/x" } }).vars).toEqual({ A: "dev" });
  });

  it("stops on a file that exists but cannot be read", () => {
    const dir = project({ ".dev.vars": "A=1\n" });
    chmodSync(join(dir, ".dev.vars"), 0o000);
    try {
      if (process.getuid?.() === 0) return; // root reads anything
      expect(configError(() => loadDevVars({ dir, processEnv: {} })).message).toMatch(/^Could not read .*\.dev\.vars: /);
    } finally {
      chmodSync(join(dir, ".dev.vars"), 0o600);
    }
  });
});

describe("loadDevVars parses the files as wrangler does (dotenv.parse)", () => {
  // What wrangler's `dotenv.parse` gives for each line; node:util's parseEnv cut the first two at the
  // escaped quote, let the unclosed quote swallow the lines after it, and dropped `COLON: value`.
  const TEXT = [
    'SA_KEY="{\\"type\\":\\"service_account\\"}"',
    'SAY="say \\"hi\\""',
    'OPEN="unclosed',
    "AFTER=after",
    "COLON: value",
    "REF=${AFTER}",
    "",
  ].join("\n");
  const EXPECTED = { SA_KEY: '{\\"type\\":\\"service_account\\"}', SAY: 'say \\"hi\\"', OPEN: '"unclosed', AFTER: "after", COLON: "value" };

  it(".dev.vars: escaped quotes, an unclosed quote and KEY: value, with no ${VAR} expansion", () => {
    const dir = project({ ".dev.vars": TEXT });
    expect(loadDevVars({ dir, processEnv: {} }).vars).toEqual({ ...EXPECTED, REF: "${AFTER}" });
  });

  it("the .env family: the same lines, then expanded", () => {
    const dir = project({ ".env": TEXT });
    expect(loadDevVars({ dir, processEnv: {} }).vars).toEqual({ ...EXPECTED, REF: "after" });
  });
});

describe("loadDevVars: the .env family", () => {
  it("reads .env, .env.local, .env.<env>, .env.<env>.local in that order, later files winning", () => {
    const dir = project({
      ".env": "A=env\nB=env\nC=env\nD=env\n",
      ".env.local": "B=local\nC=local\nD=local\n",
      ".env.staging": "C=staging\nD=staging\n",
      ".env.staging.local": "D=staging-local\n",
    });
    const loaded = loadDevVars({ dir, envName: "staging", processEnv: {} });
    expect(loaded.vars).toEqual({ A: "env", B: "local", C: "staging", D: "staging-local" });
    expect(loaded.files).toEqual([".env", ".env.local", ".env.staging", ".env.staging.local"].map((name) => join(dir, name)));
  });

  it("reads only .env and .env.local without --env", () => {
    const dir = project({ ".env": "A=env\n", ".env.staging": "A=staging\n" });
    expect(loadDevVars({ dir, processEnv: {} }).vars).toEqual({ A: "env" });
  });

  it("expands ${VAR} references across files", () => {
    const dir = project({
      ".env": "HOST=localhost\nPORT=5432\nURL=postgres://${HOST}:${PORT}/app\n",
      ".env.local": "HOST=db.internal\nGREETING=hello ${NAME:-world}\nLITERAL=\\${HOST}\n",
    });
    expect(loadDevVars({ dir, processEnv: {} }).vars).toEqual({
      HOST: "db.internal",
      PORT: "5432",
      URL: "postgres://db.internal:5432/app",
      GREETING: "hello world",
      LITERAL: "${HOST}",
    });
  });

  it("does not see the process environment unless CLOUDFLARE_INCLUDE_PROCESS_ENV is true", () => {
    const dir = project({ ".env": "WHERE=${HOME}\nA=file\n" });
    const processEnv = { HOME: "/home/me", A: "process" };
    expect(loadDevVars({ dir, processEnv }).vars).toEqual({ WHERE: "", A: "file" });
    const included = loadDevVars({ dir, processEnv: { ...processEnv, CLOUDFLARE_INCLUDE_PROCESS_ENV: "true" } }).vars;
    // As wrangler: the process environment is included whole, and wins over the files.
    expect(included).toEqual({ HOME: "/home/me", A: "process", WHERE: "/home/me", CLOUDFLARE_INCLUDE_PROCESS_ENV: "true" });
  });

  it("is turned off by CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV=false", () => {
    const dir = project({ ".env": "A=env\n" });
    expect(loadDevVars({ dir, processEnv: { CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV: "false" } })).toEqual({ vars: {}, files: [], warnings: [] });
  });

  it("gives nothing when no file exists", () => {
    expect(loadDevVars({ dir: project(), envName: "staging", processEnv: { A: "1" } })).toEqual({ vars: {}, files: [], warnings: [] });
  });
});

describe("loadDevVars with secrets.required", () => {
  it("keeps only required secrets and config var names, naming the others in a warning", () => {
    const dir = project({ ".dev.vars": "API_KEY=k\nMODE=local\nSTRAY=x\nOTHER=y\n" });
    const loaded = loadDevVars({ dir, processEnv: {}, secretsRequired: ["API_KEY"], configVarNames: ["MODE"] });
    expect(loaded.vars).toEqual({ API_KEY: "k", MODE: "local" });
    expect(loaded.warnings).toEqual([
      "Not loaded from .dev.vars: OTHER, STRAY. With secrets.required declared, only required secrets and config vars are loaded (wrangler's rule); add them to secrets.required to use them.",
    ]);
  });

  it("does not take required secrets from the process environment for .dev.vars (that layer is the caller's)", () => {
    const dir = project({ ".dev.vars": "API_KEY=file\n" });
    const processEnv = { API_KEY: "process", DB_URL: "postgres://x", HOME: "/home/me" };
    expect(loadDevVars({ dir, processEnv, secretsRequired: ["API_KEY", "DB_URL"] })).toEqual({
      vars: { API_KEY: "file" },
      files: [join(dir, ".dev.vars")],
      warnings: [],
    });
  });

  it("includes the process environment for the .env family, filtered to required secrets", () => {
    const dir = project({ ".env": "API_KEY=file\nEXTRA=1\n" });
    const loaded = loadDevVars({ dir, processEnv: { API_KEY: "process", HOME: "/home/me" }, secretsRequired: ["API_KEY"] });
    expect(loaded.vars).toEqual({ API_KEY: "process" });
    expect(loaded.warnings).toEqual([
      "Not loaded from .env: EXTRA. With secrets.required declared, only required secrets and config vars are loaded (wrangler's rule); add them to secrets.required to use them.",
    ]);
  });
});

describe("required secrets", () => {
  it("lists the missing names (an empty value counts as set)", () => {
    expect(missingRequiredSecrets(["A", "B", "C"], { A: "x", C: "" })).toEqual(["B"]);
    expect(missingRequiredSecrets([], {})).toEqual([]);
  });

  it("stop start-up naming the missing secrets and where to set them, never a value", () => {
    expect(() => assertRequiredSecrets(["A"], { A: "secret-value" }, { configFile: "wrangler.jsonc" })).not.toThrow();
    const error = configError(() => assertRequiredSecrets(["API_KEY", "DB_URL", "SET"], { SET: "secret-value" }, { configFile: "wrangler.jsonc", envName: "staging" }));
    expect(error.message).toBe(
      "Missing required secrets: API_KEY, DB_URL (secrets.required in wrangler.jsonc). " +
        "Set them in .dev.vars.staging (or .dev.vars) or .env for development, in the process environment, or with `hearth secret put API_KEY --env staging`.",
    );
    expect(error.message).not.toContain("secret-value");
    expect(configError(() => assertRequiredSecrets(["K"], {}, { configFile: "wrangler.toml" })).message).toBe(
      "Missing required secrets: K (secrets.required in wrangler.toml). Set them in .dev.vars or .env for development, in the process environment, or with `hearth secret put K`.",
    );
  });
});
