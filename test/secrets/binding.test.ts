import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { openSecretStore, secretsStoreBindings, SecretsStoreSecret } from "../../src/secrets/index.ts";
import { tempDirs, VALUE } from "./helpers.ts";

const dirs = tempDirs();

describe("secrets_store_secrets bindings", () => {
  it("get() resolves to the stored value", async () => {
    const store = openSecretStore({ dataDir: dirs.dataDir(), envName: "production" });
    store.put("stripe-key", VALUE);
    const binding = new SecretsStoreSecret(store, "stripe-key");
    await expect(binding.get()).resolves.toBe(VALUE);
  });

  it("get() rejects with Miniflare's text when the secret does not exist", async () => {
    const binding = new SecretsStoreSecret(openSecretStore({ dataDir: dirs.dataDir() }), "MISSING_KEY");
    await expect(binding.get()).rejects.toThrow(new Error('Secret "MISSING_KEY" not found'));
  });

  it("reads through the store: a put by another process, and a delete, are seen at once", async () => {
    const dataDir = dirs.dataDir();
    const binding = new SecretsStoreSecret(openSecretStore({ dataDir }), "API_KEY");
    await expect(binding.get()).rejects.toThrow('Secret "API_KEY" not found');
    openSecretStore({ dataDir }).put("API_KEY", "v1");
    await expect(binding.get()).resolves.toBe("v1");
    openSecretStore({ dataDir }).put("API_KEY", "v2");
    await expect(binding.get()).resolves.toBe("v2");
    openSecretStore({ dataDir }).delete("API_KEY");
    await expect(binding.get()).rejects.toThrow('Secret "API_KEY" not found');
  });

  it("rejects with the store's key error, which does not contain the value", async () => {
    const dataDir = dirs.dataDir();
    openSecretStore({ dataDir, keyEnv: "a".repeat(64) }).put("API_KEY", VALUE);
    const binding = new SecretsStoreSecret(openSecretStore({ dataDir, keyEnv: "b".repeat(64) }), "API_KEY");
    const error = await binding.get().then(
      () => undefined,
      (reason: unknown) => reason as Error,
    );
    expect(error?.message).toContain("cannot decrypt secrets: the key does not match");
    expect(error?.message).not.toContain(VALUE);
  });

  it("shows only the secret's name when logged or serialised", async () => {
    const store = openSecretStore({ dataDir: dirs.dataDir() });
    store.put("API_KEY", VALUE);
    const binding = new SecretsStoreSecret(store, "API_KEY");
    await binding.get();
    expect(inspect(binding)).toBe('SecretsStoreSecret { secretName: "API_KEY" }');
    expect(JSON.stringify({ binding })).toBe('{"binding":{"secretName":"API_KEY"}}');
  });

  it("secretsStoreBindings builds one binding per config entry, by binding name", async () => {
    const store = openSecretStore({ dataDir: dirs.dataDir() });
    store.put("openai", "sk-1");
    store.put("stripe", "sk-2");
    const env = secretsStoreBindings(
      [
        { binding: "OPENAI_KEY", storeId: "abc123", secretName: "openai" },
        { binding: "STRIPE_KEY", storeId: "abc123", secretName: "stripe" },
      ],
      store,
    );
    expect(Object.keys(env)).toEqual(["OPENAI_KEY", "STRIPE_KEY"]);
    await expect(env.OPENAI_KEY!.get()).resolves.toBe("sk-1");
    await expect(env.STRIPE_KEY!.get()).resolves.toBe("sk-2");
  });
});
