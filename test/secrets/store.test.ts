import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  MAX_SECRET_NAME_LENGTH,
  MAX_SECRET_VALUE_BYTES,
  openSecretStore,
  secretsFilePath,
  SecretStoreError,
} from "../../src/secrets/index.ts";
import { tempDirs, VALUE } from "./helpers.ts";

const dirs = tempDirs();

function expectStoreError(fn: () => unknown, code: string, text: string | RegExp): SecretStoreError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SecretStoreError);
  const error = caught as SecretStoreError;
  expect(error.code).toBe(code);
  if (typeof text === "string") expect(error.message).toContain(text);
  else expect(error.message).toMatch(text);
  return error;
}

describe("secret store", () => {
  it("keeps secrets across re-opening: put, get, list, delete", () => {
    const dataDir = dirs.dataDir();
    const first = openSecretStore({ dataDir });
    first.put("API_KEY", VALUE);
    first.put("DB_PASSWORD", "hunter2");
    const second = openSecretStore({ dataDir });
    expect(second.list()).toEqual(["API_KEY", "DB_PASSWORD"]);
    expect(second.get("API_KEY")).toBe(VALUE);
    expect(second.all()).toEqual({ API_KEY: VALUE, DB_PASSWORD: "hunter2" });
    expect(second.delete("API_KEY")).toBe(true);
    expect(second.delete("API_KEY")).toBe(false);
    const third = openSecretStore({ dataDir });
    expect(third.list()).toEqual(["DB_PASSWORD"]);
    expect(third.get("API_KEY")).toBeUndefined();
    expect(third.has("DB_PASSWORD")).toBe(true);
  });

  it("replaces a value and keeps unicode, newlines and the empty string exactly", () => {
    const store = openSecretStore({ dataDir: dirs.dataDir() });
    store.put("A", "first");
    store.put("A", "second");
    store.put("MULTI", "line one\nline two\n  ");
    store.put("UNICODE", "ключ 🔑 名前");
    store.put("EMPTY", "");
    const again = openSecretStore({ dataDir: dirs.dataDir() });
    expect(again.get("A")).toBe("second");
    expect(again.get("MULTI")).toBe("line one\nline two\n  ");
    expect(again.get("UNICODE")).toBe("ключ 🔑 名前");
    expect(again.get("EMPTY")).toBe("");
  });

  it("does not write the value to disk: neither in clear nor in base64", () => {
    const dataDir = dirs.dataDir();
    openSecretStore({ dataDir }).put("API_KEY", VALUE);
    const path = secretsFilePath(dataDir);
    expect(path).toBe(join(dataDir, "secrets", "default.json"));
    const raw = readFileSync(path);
    expect(raw.includes(Buffer.from(VALUE))).toBe(false);
    expect(raw.includes(Buffer.from(Buffer.from(VALUE).toString("base64").slice(0, 16)))).toBe(false);
    expect(raw.includes(Buffer.from(Buffer.from(VALUE).toString("hex").slice(0, 16)))).toBe(false);
    // The name is in clear (list needs no key); the value is an AES-GCM envelope.
    const json = JSON.parse(raw.toString("utf8")) as { format: string; secrets: Record<string, Record<string, string>> };
    expect(json.format).toBe("hearth-secrets");
    expect(Object.keys(json.secrets.API_KEY!).sort()).toEqual(["data", "iv", "tag", "updated"]);
  });

  it("uses a fresh IV for every write: the same value twice gives different ciphertexts", () => {
    const dataDir = dirs.dataDir();
    const store = openSecretStore({ dataDir });
    store.put("A", VALUE);
    store.put("B", VALUE);
    const json = JSON.parse(readFileSync(secretsFilePath(dataDir), "utf8")) as { secrets: Record<string, { iv: string; data: string }> };
    expect(json.secrets.A!.iv).not.toBe(json.secrets.B!.iv);
    expect(json.secrets.A!.data).not.toBe(json.secrets.B!.data);
  });

  it("creates the data directory 0700 and the files 0600, leaving no temporary files", () => {
    const dataDir = dirs.dataDir();
    openSecretStore({ dataDir }).put("A", VALUE);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, "secrets")).mode & 0o777).toBe(0o700);
    expect(statSync(secretsFilePath(dataDir)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, "secret.key")).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dataDir, "secrets"))).toEqual(["default.json"]);
    expect(readdirSync(dataDir).sort()).toEqual(["secret.key", "secrets"]);
  });

  it("creates nothing before the first put", () => {
    const dataDir = dirs.dataDir();
    const store = openSecretStore({ dataDir });
    expect(store.list()).toEqual([]);
    expect(store.get("A")).toBeUndefined();
    expect(store.all()).toEqual({});
    expect(store.delete("A")).toBe(false);
    store.verifyKey();
    expect(() => statSync(dataDir)).toThrow(/ENOENT/);
  });

  it("keeps each environment apart, in its own file", () => {
    const dataDir = dirs.dataDir();
    openSecretStore({ dataDir }).put("A", "top");
    openSecretStore({ dataDir, envName: "staging" }).put("A", "staging");
    openSecretStore({ dataDir, envName: "production" }).put("B", "production");
    expect(openSecretStore({ dataDir }).all()).toEqual({ A: "top" });
    expect(openSecretStore({ dataDir, envName: "staging" }).all()).toEqual({ A: "staging" });
    expect(openSecretStore({ dataDir, envName: "production" }).all()).toEqual({ B: "production" });
    expect(readdirSync(join(dataDir, "secrets")).sort()).toEqual(["default.json", "env-production.json", "env-staging.json"]);
  });

  it("sees what another store (another process) wrote since the last read", () => {
    const dataDir = dirs.dataDir();
    const server = openSecretStore({ dataDir });
    const cli = openSecretStore({ dataDir });
    cli.put("A", "1");
    expect(server.get("A")).toBe("1");
    cli.put("A", "2");
    cli.put("B", "3");
    expect(server.get("A")).toBe("2");
    expect(server.list()).toEqual(["A", "B"]);
    cli.delete("A");
    expect(server.get("A")).toBeUndefined();
  });

  it("apply writes puts and deletes together, and nothing when one entry is invalid", () => {
    const dataDir = dirs.dataDir();
    const store = openSecretStore({ dataDir });
    store.put("OLD", "old");
    expect(store.apply([["A", "1"], ["B", "2"], ["OLD", null], ["MISSING", null]])).toEqual({ saved: ["A", "B"], deleted: ["OLD"] });
    const before = readFileSync(secretsFilePath(dataDir));
    expectStoreError(() => store.apply([["C", "3"], ["bad name", "4"]]), "NAME_INVALID", 'secret name "bad name" is not allowed');
    expectStoreError(() => store.apply([["C", "3"], ["D", "x".repeat(MAX_SECRET_VALUE_BYTES + 1)]]), "VALUE_TOO_LARGE", "the limit is 5120 bytes");
    expect(readFileSync(secretsFilePath(dataDir)).equals(before)).toBe(true);
    expect(store.all()).toEqual({ A: "1", B: "2" });
  });
});

describe("secret store limits", () => {
  it("accepts a value of exactly 5120 bytes and refuses 5121, keeping what was stored", () => {
    const store = openSecretStore({ dataDir: dirs.dataDir() });
    store.put("BIG", "é".repeat(MAX_SECRET_VALUE_BYTES / 2));
    const error = expectStoreError(() => store.put("BIG", "x".repeat(MAX_SECRET_VALUE_BYTES + 1)), "VALUE_TOO_LARGE", 'secret "BIG" is 5121 bytes; the limit is 5120 bytes (5 KiB');
    expect(error.message).not.toContain("xxxx");
    expect(store.get("BIG")).toBe("é".repeat(MAX_SECRET_VALUE_BYTES / 2));
  });

  it("refuses a value that is not a string, or not well-formed Unicode", () => {
    const store = openSecretStore({ dataDir: dirs.dataDir() });
    expectStoreError(() => store.put("A", 42 as unknown as string), "VALUE_INVALID", 'secret "A": the value must be a string, not a number');
    expectStoreError(() => store.put("A", null as unknown as string), "VALUE_INVALID", "not null");
    expectStoreError(() => store.put("A", "ok\uD800"), "VALUE_INVALID", "not well-formed Unicode");
    expect(store.list()).toEqual([]);
  });

  it("accepts a 255-character name and refuses 256", () => {
    const store = openSecretStore({ dataDir: dirs.dataDir() });
    store.put("N".repeat(MAX_SECRET_NAME_LENGTH), "v");
    expectStoreError(() => store.put("N".repeat(MAX_SECRET_NAME_LENGTH + 1), "v"), "NAME_INVALID", "is 256 characters; the limit is 255");
  });

  it("refuses hostile names with a clear error, on every method, and stores nothing", () => {
    const dataDir = dirs.dataDir();
    const store = openSecretStore({ dataDir });
    const hostile = ["", "../x", "a/b", "..", "a b", "a\nb", "1ABC", "-x", "x.y", "ключ", "a\u0000b", "$HOME", "a=b"];
    for (const name of hostile) {
      const error = expectStoreError(() => store.put(name, VALUE), "NAME_INVALID", /secret name|is required/);
      expect(error.message).not.toContain("\n");
      expect(error.message).not.toContain("\u0000");
      expectStoreError(() => store.get(name), "NAME_INVALID", /secret name|is required/);
      expectStoreError(() => store.delete(name), "NAME_INVALID", /secret name|is required/);
    }
    expectStoreError(() => store.put(undefined as unknown as string, VALUE), "NAME_INVALID", "a secret name is required");
    expect(() => statSync(dataDir)).toThrow(/ENOENT/);
  });

  it("stores names that look like object internals as ordinary names", () => {
    const dataDir = dirs.dataDir();
    const store = openSecretStore({ dataDir });
    for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty"]) store.put(name, `v-${name}`);
    const again = openSecretStore({ dataDir });
    expect(again.list()).toEqual(["__proto__", "constructor", "hasOwnProperty", "toString"]);
    expect(again.get("__proto__")).toBe("v-__proto__");
    const all = again.all();
    expect(Object.getPrototypeOf(all)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(all, "__proto__")?.value).toBe("v-__proto__");
    expect(again.get("valueOf")).toBeUndefined();
  });

  it("refuses an environment name that is not a plain file name", () => {
    for (const envName of ["../x", "a/b", ".hidden", "a b", "x".repeat(65), "-x"]) {
      expectStoreError(() => openSecretStore({ dataDir: dirs.dataDir(), envName }), "ENV_INVALID", "is not allowed for secrets");
    }
    expect(secretsFilePath("/d", "staging_2-b")).toBe(join("/d", "secrets", "env-staging_2-b.json"));
  });
});

describe("secret store files that are not right", () => {
  it("says a file is not valid JSON without quoting it", () => {
    const dataDir = dirs.dataDir();
    const store = openSecretStore({ dataDir });
    store.put("A", VALUE);
    writeFileSync(secretsFilePath(dataDir), `{ "oops": "${VALUE}"`);
    const error = expectStoreError(() => store.list(), "FILE_CORRUPT", "it is not valid JSON. Restore it from a backup, or delete it");
    expect(error.message).not.toContain(VALUE);
  });

  it("refuses a file of another format or a newer version", () => {
    const dataDir = dirs.dataDir();
    const store = openSecretStore({ dataDir });
    store.put("A", "1");
    const path = secretsFilePath(dataDir);
    writeFileSync(path, JSON.stringify({ hello: "world" }));
    expectStoreError(() => store.get("A"), "FILE_CORRUPT", "it is not a Hearth secrets file");
    writeFileSync(path, JSON.stringify({ format: "hearth-secrets", version: 2, keyId: null, secrets: {} }));
    expectStoreError(() => store.list(), "FILE_CORRUPT", "it has format version 2; this Hearth reads version 1");
    writeFileSync(path, JSON.stringify({ format: "hearth-secrets", version: 1, keyId: null, secrets: { A: { iv: 1 } } }));
    expectStoreError(() => store.list(), "FILE_CORRUPT", 'its entry for "A" is malformed');
    // A put does not overwrite a file it cannot read: what is in it stays for the user to recover.
    expectStoreError(() => store.put("B", "2"), "FILE_CORRUPT", "cannot read secrets from");
    expect(readFileSync(path, "utf8")).toContain('"iv":1');
  });

  it("detects a value that was altered, or moved to another name", () => {
    const dataDir = dirs.dataDir();
    const store = openSecretStore({ dataDir });
    store.put("A", VALUE);
    store.put("B", "other");
    const path = secretsFilePath(dataDir);
    const json = JSON.parse(readFileSync(path, "utf8")) as { secrets: Record<string, { data: string }> };
    json.secrets.B = json.secrets.A!;
    writeFileSync(path, JSON.stringify(json));
    expect(store.get("A")).toBe(VALUE);
    const error = expectStoreError(() => store.get("B"), "FILE_CORRUPT", 'cannot decrypt secret "B" in');
    expect(error.message).toContain("its authentication failed");
    expect(error.message).not.toContain(VALUE);
    expect(error.message).not.toMatch(/unable to authenticate|Unsupported state/);
  });
});
