import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import type { MigrationStep, ProjectConfig } from "../../src/config/types.ts";

/** A resolved project config with nothing declared, overridden by `fields`. */
export function projectConfig(fields: Partial<ProjectConfig> = {}): ProjectConfig {
  return {
    path: "/project/wrangler.jsonc",
    dir: "/project",
    envName: undefined,
    name: "test-worker",
    main: "/project/src/index.ts",
    compatibilityDate: "2025-01-01",
    compatibilityFlags: [],
    durableObjects: [],
    migrations: [],
    vars: {},
    secretsRequired: undefined,
    kvNamespaces: [],
    d1Databases: [],
    rateLimits: [],
    queueProducers: [],
    queueConsumers: [],
    crons: [],
    workflows: [],
    workerLoaders: [],
    assets: undefined,
    sendEmail: [],
    secretsStoreSecrets: [],
    hyperdrive: [],
    moduleRules: [],
    unsupported: [],
    dev: {},
    warnings: [],
    ...fields,
  };
}

/** A migration step with only the changes given. */
export function step(tag: string, change: Partial<Omit<MigrationStep, "tag">> = {}): MigrationStep {
  return { tag, newClasses: [], newSqliteClasses: [], renamedClasses: [], deletedClasses: [], ...change };
}

/** Temp directories for this test file, removed after each test. */
export function useTempDirs(): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-worker-"));
    dirs.push(dir);
    return dir;
  };
}
