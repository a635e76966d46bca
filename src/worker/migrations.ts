import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { camelCaseToKebabCase } from "../client/kebab.ts";
import { EXPORTS_TAG_PREFIX } from "../config/index.ts";
import type { MigrationStep } from "../config/types.ts";

/** What a data directory remembers of a project's Durable Object migrations. */
interface MigrationState {
  /** Tags applied, in order. */
  applied: string[];
  /** Storage directory (under agents/) of each class that does not use its own kebab-case name: renamed classes keep their data where it was. */
  storage: Record<string, string>;
}

/** What applying migrations did, for the start-up output. */
export interface MigrationOutcome {
  /** Tags applied now. */
  applied: string[];
  /** Storage directory name per class, for every class that has data under another name. */
  storage: Record<string, string>;
}

const STATE_FILE = "migrations.json";

/**
 * Applies the migrations the data directory has not seen yet, in order, and records them
 * (`<dataDir>/migrations.json`). A rename keeps the data where it is and points the new class at it
 * (an agent's file name is derived from its storage name, so moving files would lose them); a delete
 * removes the class's agents and their pending schedules. Tags already applied must still be the
 * start of the list: migrations are append-only, as on Cloudflare.
 *
 * @throws {Error} when the recorded history and the config disagree.
 */
export function applyMigrations(dataDir: string, steps: readonly MigrationStep[], configName: string): MigrationOutcome {
  const statePath = join(dataDir, STATE_FILE);
  const state = readState(statePath);
  // The declarative `exports` form has no history: each of its changes is applied once, by tag.
  if (steps.some((step) => step.tag.startsWith(EXPORTS_TAG_PREFIX))) {
    const done = new Set(state.applied);
    return applySteps(dataDir, statePath, state, steps.filter((step) => !done.has(step.tag)));
  }
  state.applied.forEach((tag, index) => {
    if (steps[index]?.tag !== tag) {
      throw new Error(
        `${configName}: the data directory ${dataDir} has migration "${tag}" applied as step ${index + 1}, but the config ` +
          `lists ${steps[index] ? `"${steps[index].tag}"` : "fewer migrations"} there. Migrations are append-only: add new steps at the end.`,
      );
    }
  });
  return applySteps(dataDir, statePath, state, steps.slice(state.applied.length));
}

function applySteps(dataDir: string, statePath: string, state: MigrationState, fresh: readonly MigrationStep[]): MigrationOutcome {
  for (const step of fresh) {
    for (const { from, to } of step.renamedClasses) {
      const storage = state.storage[from] ?? camelCaseToKebabCase(from);
      delete state.storage[from];
      if (storage === camelCaseToKebabCase(to)) delete state.storage[to];
      else state.storage[to] = storage;
    }
    for (const name of step.deletedClasses) {
      const storage = state.storage[name] ?? camelCaseToKebabCase(name);
      rmSync(join(dataDir, "agents", storage), { recursive: true, force: true });
      forgetSchedules(dataDir, storage);
      delete state.storage[name];
    }
    state.applied.push(step.tag);
  }
  if (fresh.length > 0) writeState(statePath, state);
  return { applied: fresh.map((step) => step.tag), storage: { ...state.storage } };
}

function readState(path: string): MigrationState {
  if (!existsSync(path)) return { applied: [], storage: {} };
  const parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<MigrationState>;
  return { applied: Array.isArray(parsed.applied) ? parsed.applied : [], storage: { ...parsed.storage } };
}

function writeState(path: string, state: MigrationState): void {
  mkdirSync(join(path, ".."), { recursive: true });
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temporary, path);
}

/** Removes a deleted class's entries from the host's schedule index, so nothing wakes for it. */
function forgetSchedules(dataDir: string, storage: string): void {
  const path = join(dataDir, "host.sqlite");
  if (!existsSync(path)) return;
  const db = new DatabaseSync(path);
  try {
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'due'").get();
    if (table !== undefined) db.prepare("DELETE FROM due WHERE slug = ?").run(storage);
  } finally {
    db.close();
  }
}
