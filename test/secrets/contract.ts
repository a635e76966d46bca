import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { MAX_SECRET_NAME_LENGTH, MAX_SECRET_VALUE_BYTES, SecretStoreError, type SecretStore } from "../../src/secrets/index.ts";
import { VALUE } from "./helpers.ts";

/** Two keys as HEARTH_SECRET_KEY accepts them. */
export const KEY_A = randomBytes(32).toString("hex");
export const KEY_B = randomBytes(32).toString("base64");

/** How a contract test opens a store on the backing made for it (the same data directory, the same Postgres schema). */
export interface OpenOptions {
  envName?: string;
  /** Default {@link KEY_A}; null: no key. */
  keyEnv?: string | null;
}

/** One store kind under test. */
export interface ContractSubject {
  /** Makes a fresh backing for one test and returns how to open stores on it. */
  setup(): Promise<(options?: OpenOptions) => Promise<SecretStore>>;
  /** Makes `store` see what other stores wrote (the file store always does; the cluster's store refreshes). */
  sync(store: SecretStore): Promise<void>;
}

/** Expects `fn` to throw or reject with a SecretStoreError of `code` whose message contains `text`. */
export async function expectStoreError(fn: () => unknown, code: string, text: string | RegExp): Promise<SecretStoreError> {
  let caught: unknown;
  try {
    await fn();
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

/**
 * What every secret store does, whatever keeps it: the data directory's file or the cluster's Postgres.
 * Writes are awaited, which costs the synchronous file store nothing.
 */
export function secretStoreContract(subject: ContractSubject): void {
  it("keeps secrets across re-opening: put, get, has, list, all, delete", async () => {
    const open = await subject.setup();
    const first = await open();
    await first.put("API_KEY", VALUE);
    await first.put("DB_PASSWORD", "hunter2");
    const second = await open();
    expect(second.list()).toEqual(["API_KEY", "DB_PASSWORD"]);
    expect(second.get("API_KEY")).toBe(VALUE);
    expect(second.all()).toEqual({ API_KEY: VALUE, DB_PASSWORD: "hunter2" });
    expect(await second.delete("API_KEY")).toBe(true);
    expect(await second.delete("API_KEY")).toBe(false);
    const third = await open();
    expect(third.list()).toEqual(["DB_PASSWORD"]);
    expect(third.get("API_KEY")).toBeUndefined();
    expect(third.has("DB_PASSWORD")).toBe(true);
    expect(third.has("API_KEY")).toBe(false);
  });

  it("replaces a value and keeps unicode, newlines and the empty string exactly", async () => {
    const open = await subject.setup();
    const store = await open();
    await store.put("A", "first");
    await store.put("A", "second");
    await store.put("MULTI", "line one\nline two\n  ");
    await store.put("UNICODE", "ключ 🔑 名前");
    await store.put("EMPTY", "");
    const again = await open();
    expect(again.get("A")).toBe("second");
    expect(again.get("MULTI")).toBe("line one\nline two\n  ");
    expect(again.get("UNICODE")).toBe("ключ 🔑 名前");
    expect(again.get("EMPTY")).toBe("");
  });

  it("starts empty, and a delete of nothing changes nothing", async () => {
    const open = await subject.setup();
    const store = await open();
    expect(store.list()).toEqual([]);
    expect(store.get("A")).toBeUndefined();
    expect(store.all()).toEqual({});
    expect(await store.delete("A")).toBe(false);
    expect(await store.apply([["A", null]])).toEqual({ saved: [], deleted: [] });
    store.verifyKey();
  });

  it("keeps each environment apart", async () => {
    const open = await subject.setup();
    await (await open()).put("A", "top");
    await (await open({ envName: "staging" })).put("A", "staging");
    await (await open({ envName: "production" })).put("B", "production");
    expect((await open()).all()).toEqual({ A: "top" });
    expect((await open({ envName: "staging" })).all()).toEqual({ A: "staging" });
    expect((await open({ envName: "production" })).all()).toEqual({ B: "production" });
    expect((await open({ envName: "staging" })).envName).toBe("staging");
    expect((await open()).envName).toBeUndefined();
  });

  it("sees what another store wrote", async () => {
    const open = await subject.setup();
    const server = await open();
    const cli = await open();
    await cli.put("A", "1");
    await subject.sync(server);
    expect(server.get("A")).toBe("1");
    await cli.put("A", "2");
    await cli.put("B", "3");
    await subject.sync(server);
    expect(server.get("A")).toBe("2");
    expect(server.list()).toEqual(["A", "B"]);
    await cli.delete("A");
    await subject.sync(server);
    expect(server.get("A")).toBeUndefined();
  });

  it("apply writes puts and deletes together, and nothing when one entry is invalid", async () => {
    const open = await subject.setup();
    const store = await open();
    await store.put("OLD", "old");
    expect(await store.apply([["A", "1"], ["B", "2"], ["OLD", null], ["MISSING", null]])).toEqual({ saved: ["A", "B"], deleted: ["OLD"] });
    await expectStoreError(() => store.apply([["C", "3"], ["bad name", "4"]]), "NAME_INVALID", 'secret name "bad name" is not allowed');
    await expectStoreError(() => store.apply([["C", "3"], ["D", "x".repeat(MAX_SECRET_VALUE_BYTES + 1)]]), "VALUE_TOO_LARGE", "the limit is 5120 bytes");
    expect((await open()).all()).toEqual({ A: "1", B: "2" });
  });

  it("accepts a value of exactly 5120 bytes and refuses 5121, keeping what was stored", async () => {
    const open = await subject.setup();
    const store = await open();
    await store.put("BIG", "é".repeat(MAX_SECRET_VALUE_BYTES / 2));
    const error = await expectStoreError(() => store.put("BIG", "x".repeat(MAX_SECRET_VALUE_BYTES + 1)), "VALUE_TOO_LARGE", 'secret "BIG" is 5121 bytes; the limit is 5120 bytes (5 KiB');
    expect(error.message).not.toContain("xxxx");
    expect((await open()).get("BIG")).toBe("é".repeat(MAX_SECRET_VALUE_BYTES / 2));
  });

  it("refuses a value that is not a string, or not well-formed Unicode", async () => {
    const open = await subject.setup();
    const store = await open();
    await expectStoreError(() => store.put("A", 42 as unknown as string), "VALUE_INVALID", 'secret "A": the value must be a string, not a number');
    await expectStoreError(() => store.put("A", null as unknown as string), "VALUE_INVALID", "not null");
    await expectStoreError(() => store.put("A", "ok\uD800"), "VALUE_INVALID", "not well-formed Unicode");
    expect((await open()).list()).toEqual([]);
  });

  it("accepts a 255-character name and refuses 256", async () => {
    const open = await subject.setup();
    const store = await open();
    await store.put("N".repeat(MAX_SECRET_NAME_LENGTH), "v");
    await expectStoreError(() => store.put("N".repeat(MAX_SECRET_NAME_LENGTH + 1), "v"), "NAME_INVALID", "is 256 characters; the limit is 255");
    expect((await open()).list()).toEqual(["N".repeat(MAX_SECRET_NAME_LENGTH)]);
  });

  it("refuses hostile names on every method, and stores nothing", async () => {
    const open = await subject.setup();
    const store = await open();
    for (const name of ["", "../x", "a/b", "..", "a b", "a\nb", "1ABC", "-x", "x.y", "ключ", "a\u0000b", "$HOME", "a=b"]) {
      const error = await expectStoreError(() => store.put(name, VALUE), "NAME_INVALID", /secret name|is required/);
      expect(error.message).not.toContain("\n");
      expect(error.message).not.toContain("\u0000");
      await expectStoreError(() => store.get(name), "NAME_INVALID", /secret name|is required/);
      await expectStoreError(() => store.has(name), "NAME_INVALID", /secret name|is required/);
      await expectStoreError(() => store.delete(name), "NAME_INVALID", /secret name|is required/);
    }
    await expectStoreError(() => store.put(undefined as unknown as string, VALUE), "NAME_INVALID", "a secret name is required");
    expect((await open()).list()).toEqual([]);
  });

  it("stores names that look like object internals as ordinary names", async () => {
    const open = await subject.setup();
    const store = await open();
    for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty"]) await store.put(name, `v-${name}`);
    const again = await open();
    expect(again.list()).toEqual(["__proto__", "constructor", "hasOwnProperty", "toString"]);
    expect(again.get("__proto__")).toBe("v-__proto__");
    const all = again.all();
    expect(Object.getPrototypeOf(all)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(all, "__proto__")?.value).toBe("v-__proto__");
    expect(again.get("valueOf")).toBeUndefined();
  });

  it("refuses an environment name that is not a plain name", async () => {
    const open = await subject.setup();
    for (const envName of ["../x", "a/b", ".hidden", "a b", "x".repeat(65), "-x"]) {
      await expectStoreError(() => open({ envName }), "ENV_INVALID", "is not allowed for secrets");
    }
  });

  it("refuses a malformed HEARTH_SECRET_KEY without repeating it", async () => {
    const open = await subject.setup();
    // Refused before any value is read or written.
    const error = await expectStoreError(async () => (await open({ keyEnv: "not-a-key-ZZZ" })).verifyKey(), "KEY_INVALID", "HEARTH_SECRET_KEY is not a usable key: it must be 32 bytes");
    expect(error.message).not.toContain("not-a-key-ZZZ");
  });

  it("with a malformed HEARTH_SECRET_KEY, names and deletes still work (they need no key)", async () => {
    const open = await subject.setup();
    await (await open({ keyEnv: KEY_A })).put("A", VALUE);
    const malformed = await open({ keyEnv: "not-a-key-ZZZ" });
    expect(malformed.list()).toEqual(["A"]);
    await expectStoreError(() => malformed.get("A"), "KEY_INVALID", "HEARTH_SECRET_KEY is not a usable key");
    expect(await malformed.delete("A")).toBe(true);
    expect((await open({ keyEnv: KEY_A })).list()).toEqual([]);
  });

  it("with another key: reads and puts are refused, names and deletes still work, nothing is lost", async () => {
    const open = await subject.setup();
    await (await open({ keyEnv: KEY_A })).put("A", VALUE);
    const other = await open({ keyEnv: KEY_B });
    const read = await expectStoreError(() => other.get("A"), "KEY_MISMATCH", "cannot decrypt secrets:");
    expect(read.message).not.toContain(VALUE);
    await expectStoreError(() => other.all(), "KEY_MISMATCH", "cannot decrypt secrets:");
    await expectStoreError(() => other.verifyKey(), "KEY_MISMATCH", "cannot decrypt secrets:");
    await expectStoreError(() => other.put("B", "2"), "KEY_MISMATCH", "cannot decrypt secrets:");
    expect(other.list()).toEqual(["A"]);
    expect((await open({ keyEnv: KEY_A })).all()).toEqual({ A: VALUE });
    // Once nothing is stored, another key may start over.
    expect(await other.delete("A")).toBe(true);
    await other.put("B", "2");
    expect((await open({ keyEnv: KEY_B })).all()).toEqual({ B: "2" });
  });
}
