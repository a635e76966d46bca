import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openSecretStore, secretsFilePath } from "../../src/secrets/index.ts";
import { KEY_A, secretStoreContract } from "./contract.ts";
import { tempDirs } from "./helpers.ts";

const dirs = tempDirs();

describe("secret store contract: the data directory's file", () => {
  secretStoreContract({
    async setup() {
      const dataDir = dirs.dataDir();
      return async (options = {}) => openSecretStore({ dataDir, envName: options.envName, keyEnv: options.keyEnv === undefined ? KEY_A : (options.keyEnv ?? undefined) });
    },
    async sync() {},
  });

  it("keeps what the contract writes encrypted in the data directory's file", () => {
    const dataDir = dirs.dataDir();
    const store = openSecretStore({ dataDir, keyEnv: KEY_A });
    store.put("API_KEY", "plain-text-never-on-disk");
    const file = readFileSync(secretsFilePath(dataDir), "utf8");
    expect(JSON.parse(file)).toMatchObject({ secrets: { API_KEY: expect.any(Object) } });
    expect(file).not.toContain("plain-text-never-on-disk");
    expect(openSecretStore({ dataDir, keyEnv: KEY_A }).get("API_KEY")).toBe("plain-text-never-on-disk");
  });
});
