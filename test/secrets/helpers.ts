import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";

/** A fresh directory per test, removed after it; the data directory is a child that does not exist yet. */
export function tempDirs(): { root(): string; dataDir(): string } {
  let root: string | undefined;
  afterEach(() => {
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
    root = undefined;
  });
  const ensure = (): string => (root ??= mkdtempSync(join(tmpdir(), "hearth-secrets-")));
  return { root: ensure, dataDir: () => join(ensure(), "data") };
}

/** A value that is easy to find in raw bytes, in clear or in base64. */
export const VALUE = "sk-live-7f3a9c0d-PLAINTEXT-MARKER";
