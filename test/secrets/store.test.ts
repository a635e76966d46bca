import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  MAX_SECRET_VALUE_BYTES,
  openSecretStore,
  secretsFilePath,
} from "../../src/secrets/index.ts";
import { expectStoreError } from "./contract.ts";
import { tempDirs, VALUE } from "./helpers.ts";

const dirs = tempDirs();


// What every store does (put, get, limits, keys) is in contract.ts; here, what is particular to the file.
describe("secret store", () => {
  it("does not write the value to disk: neither in clear nor in base64", async () => {
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

  it("uses a fresh IV for every write: the same value twice gives different ciphertexts", async () => {
    const dataDir = dirs.dataDir();
    const store = openSecretStore({ dataDir });
    store.put("A", VALUE);
    store.put("B", VALUE);
    const json = JSON.parse(readFileSync(secretsFilePath(dataDir), "utf8")) as { secrets: Record<string, { iv: string; data: string }> };
    expect(json.secrets.A!.iv).not.toBe(json.secrets.B!.iv);
    expect(json.secrets.A!.data).not.toBe(json.secrets.B!.data);
  });

  it("creates the data directory 0700 and the files 0600, leaving no temporary files", async () => {
    const dataDir = dirs.dataDir();
    openSecretStore({ dataDir }).put("A", VALUE);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, "secrets")).mode & 0o777).toBe(0o700);
    expect(statSync(secretsFilePath(dataDir)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, "secret.key")).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dataDir, "secrets"))).toEqual(["default.json"]);
    expect(readdirSync(dataDir).sort()).toEqual(["secret.key", "secrets"]);
  });

  it("creates nothing before the first put", async () => {
    const dataDir = dirs.dataDir();
    const store = openSecretStore({ dataDir });
    expect(store.list()).toEqual([]);
    expect(store.get("A")).toBeUndefined();
    expect(store.all()).toEqual({});
    expect(store.delete("A")).toBe(false);
    store.verifyKey();
    expect(() => statSync(dataDir)).toThrow(/ENOENT/);
  });

  it("keeps each environment apart, in its own file", async () => {
    const dataDir = dirs.dataDir();
    openSecretStore({ dataDir }).put("A", "top");
    openSecretStore({ dataDir, envName: "staging" }).put("A", "staging");
    openSecretStore({ dataDir, envName: "production" }).put("B", "production");
    expect(openSecretStore({ dataDir }).all()).toEqual({ A: "top" });
    expect(openSecretStore({ dataDir, envName: "staging" }).all()).toEqual({ A: "staging" });
    expect(openSecretStore({ dataDir, envName: "production" }).all()).toEqual({ B: "production" });
    expect(readdirSync(join(dataDir, "secrets")).sort()).toEqual(["default.json", "env-production.json", "env-staging.json"]);
  });

  it("apply writes puts and deletes together, and nothing when one entry is invalid", async () => {
    const dataDir = dirs.dataDir();
    const store = openSecretStore({ dataDir });
    store.put("OLD", "old");
    expect(store.apply([["A", "1"], ["B", "2"], ["OLD", null], ["MISSING", null]])).toEqual({ saved: ["A", "B"], deleted: ["OLD"] });
    const before = readFileSync(secretsFilePath(dataDir));
    await expectStoreError(() => store.apply([["C", "3"], ["bad name", "4"]]), "NAME_INVALID", 'secret name "bad name" is not allowed');
    await expectStoreError(() => store.apply([["C", "3"], ["D", "x".repeat(MAX_SECRET_VALUE_BYTES + 1)]]), "VALUE_TOO_LARGE", "the limit is 5120 bytes");
    expect(readFileSync(secretsFilePath(dataDir)).equals(before)).toBe(true);
    expect(store.all()).toEqual({ A: "1", B: "2" });
  });
});

describe("secret store limits", () => {
  it("refuses hostile names with a clear error, on every method, and stores nothing", async () => {
    const dataDir = dirs.dataDir();
    const store = openSecretStore({ dataDir });
    const hostile = ["", "../x", "a/b", "..", "a b", "a\nb", "1ABC", "-x", "x.y", "ключ", "a\u0000b", "$HOME", "a=b"];
    for (const name of hostile) {
      const error = await expectStoreError(() => store.put(name, VALUE), "NAME_INVALID", /secret name|is required/);
      expect(error.message).not.toContain("\n");
      expect(error.message).not.toContain("\u0000");
      await expectStoreError(() => store.get(name), "NAME_INVALID", /secret name|is required/);
      await expectStoreError(() => store.delete(name), "NAME_INVALID", /secret name|is required/);
    }
    await expectStoreError(() => store.put(undefined as unknown as string, VALUE), "NAME_INVALID", "a secret name is required");
    expect(() => statSync(dataDir)).toThrow(/ENOENT/);
  });

  it("refuses an environment name that is not a plain file name", async () => {
    for (const envName of ["../x", "a/b", ".hidden", "a b", "x".repeat(65), "-x"]) {
      await expectStoreError(() => openSecretStore({ dataDir: dirs.dataDir(), envName }), "ENV_INVALID", "is not allowed for secrets");
    }
    expect(secretsFilePath("/d", "staging_2-b")).toBe(join("/d", "secrets", "env-staging_2-b.json"));
  });
});

describe("secret store files that are not right", () => {
  it("says a file is not valid JSON without quoting it", async () => {
    const dataDir = dirs.dataDir();
    const store = openSecretStore({ dataDir });
    store.put("A", VALUE);
    writeFileSync(secretsFilePath(dataDir), `{ "oops": "${VALUE}"`);
    const error = await expectStoreError(() => store.list(), "FILE_CORRUPT", "it is not valid JSON. Restore it from a backup, or delete it");
    expect(error.message).not.toContain(VALUE);
  });

  it("refuses a file of another format or a newer version", async () => {
    const dataDir = dirs.dataDir();
    const store = openSecretStore({ dataDir });
    store.put("A", "1");
    const path = secretsFilePath(dataDir);
    writeFileSync(path, JSON.stringify({ hello: "world" }));
    await expectStoreError(() => store.get("A"), "FILE_CORRUPT", "it is not a Hearth secrets file");
    writeFileSync(path, JSON.stringify({ format: "hearth-secrets", version: 2, keyId: null, secrets: {} }));
    await expectStoreError(() => store.list(), "FILE_CORRUPT", "it has format version 2; this Hearth reads version 1");
    writeFileSync(path, JSON.stringify({ format: "hearth-secrets", version: 1, keyId: null, secrets: { A: { iv: 1 } } }));
    await expectStoreError(() => store.list(), "FILE_CORRUPT", 'its entry for "A" is malformed');
    // A put does not overwrite a file it cannot read: what is in it stays for the user to recover.
    await expectStoreError(() => store.put("B", "2"), "FILE_CORRUPT", "cannot read secrets from");
    expect(readFileSync(path, "utf8")).toContain('"iv":1');
  });

  it("detects a value that was altered, or moved to another name", async () => {
    const dataDir = dirs.dataDir();
    const store = openSecretStore({ dataDir });
    store.put("A", VALUE);
    store.put("B", "other");
    const path = secretsFilePath(dataDir);
    const json = JSON.parse(readFileSync(path, "utf8")) as { secrets: Record<string, { data: string }> };
    json.secrets.B = json.secrets.A!;
    writeFileSync(path, JSON.stringify(json));
    expect(store.get("A")).toBe(VALUE);
    const error = await expectStoreError(() => store.get("B"), "FILE_CORRUPT", 'cannot decrypt secret "B" in');
    expect(error.message).toContain("its authentication failed");
    expect(error.message).not.toContain(VALUE);
    expect(error.message).not.toMatch(/unable to authenticate|Unsupported state/);
  });
});
