import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, expect } from "vitest";
import { ConfigError } from "../../src/config/errors.ts";
import { loadProjectConfig } from "../../src/config/load.ts";
import type { ProjectConfig } from "../../src/config/types.ts";
import { thrown } from "../support/thrown.ts";

/** Temp project directories for this test file, removed after each test. */
export function useProjectDirs(): (files?: Record<string, string>) => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return (files = {}) => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-config-"));
    dirs.push(dir);
    writeFiles(dir, files);
    return dir;
  };
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

/** Writes `config` as wrangler.jsonc (pretty-printed, so lines are predictable) and loads it. */
export function loadJson(dir: string, config: unknown, envName?: string): ProjectConfig {
  writeFileSync(join(dir, "wrangler.jsonc"), JSON.stringify(config, null, 2));
  return loadProjectConfig({ path: join(dir, "wrangler.jsonc"), envName });
}

/** The ConfigError `fn` throws. */
export function configError(fn: () => unknown): ConfigError {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(ConfigError);
  expect(error.name).toBe("ConfigError");
  return error as ConfigError;
}
