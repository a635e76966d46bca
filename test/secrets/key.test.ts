import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { inspect } from "node:util";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { keyFilePath, openSecretStore, parseKey, secretsFilePath, SecretStoreError } from "../../src/secrets/index.ts";
import { tempDirs, VALUE } from "./helpers.ts";

const dirs = tempDirs();

function errorOf(fn: () => unknown): SecretStoreError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SecretStoreError) return error;
    throw error;
  }
  throw new Error("expected a SecretStoreError");
}

const KEY = randomBytes(32);
const FORMS: Array<[string, string]> = [
  ["hex", KEY.toString("hex")],
  ["upper-case hex", KEY.toString("hex").toUpperCase()],
  ["base64", KEY.toString("base64")],
  ["base64 without padding", KEY.toString("base64").replace(/=+$/, "")],
  ["base64url", KEY.toString("base64url")],
  ["base64 with surrounding whitespace", `  ${KEY.toString("base64")}\n`],
];

describe("HEARTH_SECRET_KEY", () => {
  it.each(FORMS)("accepts the key as %s, and every form reads the same secrets", (_form, text) => {
    const dataDir = dirs.dataDir();
    openSecretStore({ dataDir, keyEnv: KEY.toString("hex") }).put("A", VALUE);
    expect(openSecretStore({ dataDir, keyEnv: text }).get("A")).toBe(VALUE);
    // With the key in the environment, no key file is created.
    expect(() => statSync(keyFilePath(dataDir))).toThrow(/ENOENT/);
  });

  const BAD = [
    "short",
    "correct horse battery staple",
    randomBytes(31).toString("hex"),
    randomBytes(33).toString("hex"),
    randomBytes(16).toString("base64"),
    randomBytes(48).toString("base64"),
    `${KEY.toString("hex").slice(0, 63)}g`,
    `${KEY.toString("base64").slice(0, 20)}!!${KEY.toString("base64").slice(22)}`,
  ];
  it.each(BAD)("refuses a malformed key, naming the expected forms and not echoing it (%#)", (text) => {
    const error = errorOf(() => openSecretStore({ dataDir: dirs.dataDir(), keyEnv: text }).verifyKey());
    expect(error.code).toBe("KEY_INVALID");
    expect(error.message).toBe(
      "HEARTH_SECRET_KEY is not a usable key: it must be 32 bytes written as 64 hexadecimal characters or as base64 (44 characters; `openssl rand -base64 32` makes one)",
    );
    expect(error.message).not.toContain(text);
  });

  it("treats an empty HEARTH_SECRET_KEY as unset", () => {
    const dataDir = dirs.dataDir();
    openSecretStore({ dataDir, keyEnv: "  " }).put("A", "1");
    expect(statSync(keyFilePath(dataDir)).isFile()).toBe(true);
  });

  it("takes precedence over the key file", () => {
    const dataDir = dirs.dataDir();
    openSecretStore({ dataDir }).put("A", VALUE);
    const error = errorOf(() => openSecretStore({ dataDir, keyEnv: KEY.toString("hex") }).get("A"));
    expect(error.code).toBe("KEY_MISMATCH");
    expect(error.message).toContain("(the key in use comes from HEARTH_SECRET_KEY)");
  });
});

describe("the key file", () => {
  it("is created with mode 0600 on the first put, holding a base64 key that HEARTH_SECRET_KEY also accepts", () => {
    const dataDir = dirs.dataDir();
    const store = openSecretStore({ dataDir });
    store.list();
    expect(() => statSync(keyFilePath(dataDir))).toThrow(/ENOENT/);
    store.put("A", VALUE);
    const path = keyFilePath(dataDir);
    expect(path).toBe(join(dataDir, "secret.key"));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, "utf8");
    expect(text).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    // Moving the key into the environment keeps the secrets readable.
    rmSync(path);
    expect(openSecretStore({ dataDir, keyEnv: text }).get("A")).toBe(VALUE);
  });

  it("keeps the same key for later puts and other environments", () => {
    const dataDir = dirs.dataDir();
    openSecretStore({ dataDir }).put("A", "1");
    const key = readFileSync(keyFilePath(dataDir), "utf8");
    openSecretStore({ dataDir }).put("B", "2");
    openSecretStore({ dataDir, envName: "staging" }).put("C", "3");
    expect(readFileSync(keyFilePath(dataDir), "utf8")).toBe(key);
  });

  it.each(["0644", "0640", "0604", "0660", "0666"])("is refused when others may read it (mode %s), as ssh does", (octal) => {
    const mode = Number.parseInt(octal, 8);
    const dataDir = dirs.dataDir();
    openSecretStore({ dataDir }).put("A", VALUE);
    const path = keyFilePath(dataDir);
    chmodSync(path, mode);
    const error = errorOf(() => openSecretStore({ dataDir }).get("A"));
    expect(error.code).toBe("KEY_PERMISSIONS");
    expect(error.message).toBe(
      `permissions ${octal} for the key file ${path} are too open: it must be readable by its owner only. Run: chmod 600 '${path}'`,
    );
    // Writes are refused too, and the store is unchanged.
    const before = readFileSync(secretsFilePath(dataDir));
    expect(errorOf(() => openSecretStore({ dataDir }).put("B", "2")).code).toBe("KEY_PERMISSIONS");
    expect(readFileSync(secretsFilePath(dataDir)).equals(before)).toBe(true);
    chmodSync(path, 0o600);
    expect(openSecretStore({ dataDir }).get("A")).toBe(VALUE);
  });

  it("accepts a key file made by hand with mode 0400", () => {
    const dataDir = dirs.dataDir();
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(keyFilePath(dataDir), `${KEY.toString("hex")}\n`, { mode: 0o400 });
    openSecretStore({ dataDir }).put("A", VALUE);
    expect(openSecretStore({ dataDir, keyEnv: KEY.toString("base64") }).get("A")).toBe(VALUE);
  });

  it("says a key file that does not hold a key is not usable, without quoting it", () => {
    const dataDir = dirs.dataDir();
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(keyFilePath(dataDir), "my passphrase\n", { mode: 0o600 });
    const error = errorOf(() => openSecretStore({ dataDir }).put("A", "1"));
    expect(error.code).toBe("KEY_INVALID");
    expect(error.message).toBe(
      `the key file ${keyFilePath(dataDir)} is not a usable key: it must be 32 bytes written as 64 hexadecimal characters or as base64 (44 characters; \`openssl rand -base64 32\` makes one)`,
    );
  });

  it("refuses a key file that is a directory", () => {
    const dataDir = dirs.dataDir();
    mkdirSync(keyFilePath(dataDir), { recursive: true });
    expect(errorOf(() => openSecretStore({ dataDir }).put("A", "1")).message).toContain("is not a regular file");
  });
});

describe("a key that does not match", () => {
  it("is a clear error on read, never a crypto stack, never the value", () => {
    const dataDir = dirs.dataDir();
    openSecretStore({ dataDir, keyEnv: KEY.toString("hex") }).put("API_KEY", VALUE);
    const other = openSecretStore({ dataDir, keyEnv: randomBytes(32).toString("hex") });
    expect(other.list()).toEqual(["API_KEY"]);
    for (const read of [() => other.get("API_KEY"), () => other.all(), () => other.verifyKey()]) {
      const error = errorOf(read);
      expect(error.code).toBe("KEY_MISMATCH");
      expect(error.message).toBe(
        `cannot decrypt secrets: the key does not match the one the secrets in ${secretsFilePath(dataDir)} were written with ` +
          "(the key in use comes from HEARTH_SECRET_KEY). Use the key they were written with, or delete that file to start over",
      );
      expect(`${error.message}\n${error.stack ?? ""}`).not.toContain(VALUE);
      expect(error.stack ?? "").not.toMatch(/authenticate|Decipher|node:internal\/crypto/);
    }
  });

  it("is refused on write, so a file never holds values under two keys", () => {
    const dataDir = dirs.dataDir();
    openSecretStore({ dataDir, keyEnv: KEY.toString("hex") }).put("A", VALUE);
    const before = readFileSync(secretsFilePath(dataDir));
    const other = openSecretStore({ dataDir, keyEnv: randomBytes(32).toString("base64") });
    expect(errorOf(() => other.put("B", "2")).code).toBe("KEY_MISMATCH");
    expect(readFileSync(secretsFilePath(dataDir)).equals(before)).toBe(true);
    // Deleting needs no key; once the file is empty, another key may start over.
    expect(other.delete("A")).toBe(true);
    other.put("B", "2");
    expect(other.get("B")).toBe("2");
  });

  it("is reported as a missing key when neither the variable nor the key file is there", () => {
    const dataDir = dirs.dataDir();
    openSecretStore({ dataDir }).put("A", VALUE);
    rmSync(keyFilePath(dataDir));
    const store = openSecretStore({ dataDir });
    const error = errorOf(() => store.get("A"));
    expect(error.code).toBe("KEY_MISSING");
    expect(error.message).toBe(
      `cannot decrypt secrets in ${secretsFilePath(dataDir)}: there is no key (HEARTH_SECRET_KEY is not set and ${keyFilePath(dataDir)} does not exist). ` +
        "Set HEARTH_SECRET_KEY, or restore the key file, that they were written with",
    );
    // A put does not make a new key that would not read the secrets already there.
    expect(errorOf(() => store.put("B", "2")).code).toBe("KEY_MISSING");
    expect(() => statSync(keyFilePath(dataDir))).toThrow(/ENOENT/);
  });
});

describe("SecretKey", () => {
  it("shows its id and source when logged, never its bytes", () => {
    const key = parseKey(KEY.toString("hex"), "HEARTH_SECRET_KEY");
    const shown = `${inspect(key)} ${JSON.stringify(key)} ${inspect(openSecretStore({ dataDir: dirs.dataDir(), keyEnv: KEY.toString("hex") }))}`;
    expect(shown).toContain(key.id);
    for (const form of [KEY.toString("hex"), KEY.toString("base64").slice(0, 20), KEY.toString("hex").slice(0, 16)]) expect(shown).not.toContain(form);
  });
});
