import { spawn } from "node:child_process";
import { statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { openSecretStore, SecretStoreError } from "../../src/secrets/index.ts";
import { withFileLock } from "../../src/secrets/lock.ts";
import { tempDirs } from "./helpers.ts";

const dirs = tempDirs();
const WRITER = fileURLToPath(new URL("./writer-child.ts", import.meta.url));

function runWriter(dataDir: string, prefix: string, count: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", WRITER, dataDir, prefix, String(count)], { stdio: ["ignore", "inherit", "inherit"] });
    proc.on("error", reject);
    proc.on("exit", (code) => resolve(code ?? -1));
  });
}

describe("writers in several processes", () => {
  it("lose no secret when they write the same file at the same time", async () => {
    const dataDir = dirs.dataDir();
    // The key exists first, so the writers do not race to create it.
    openSecretStore({ dataDir }).put("SEED", "seed");
    const codes = await Promise.all([runWriter(dataDir, "A", 40), runWriter(dataDir, "B", 40), runWriter(dataDir, "C", 40)]);
    expect(codes).toEqual([0, 0, 0]);
    const all = openSecretStore({ dataDir }).all();
    expect(Object.keys(all)).toHaveLength(121);
    expect(all.B_39).toBe("value-B-39");
  });
});

describe("withFileLock", () => {
  it("refuses with a clear message while another writer holds the lock, and releases its own", () => {
    const path = join(dirs.root(), "default.json");
    writeFileSync(`${path}.lock`, "12345");
    let error: unknown;
    try {
      withFileLock(path, () => "never", 30);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SecretStoreError);
    expect((error as SecretStoreError).code).toBe("LOCKED");
    expect((error as SecretStoreError).message).toBe(
      `another process is changing the secrets in ${path} (it holds ${path}.lock); try again, or delete that file if no hearth secret command is running`,
    );
  });

  it("takes over a lock left by a crashed process", () => {
    const path = join(dirs.root(), "default.json");
    writeFileSync(`${path}.lock`, "12345");
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${path}.lock`, old, old);
    expect(withFileLock(path, () => "ran", 30)).toBe("ran");
    expect(() => statSync(`${path}.lock`)).toThrow(/ENOENT/);
  });
});
