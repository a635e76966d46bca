import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { forgetClassInDueIndex } from "../schedule/due-index.ts";
import { camelCaseToKebabCase } from "../protocol/kebab.ts";
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
  /** History the config no longer matches, as wrangler warns of it (removed or skipped steps). */
  warnings: string[];
  /** Storage directory name per class, for every class that has data under another name. */
  storage: Record<string, string>;
}

const STATE_FILE = "migrations.json";

/** Migrations worked out but not yet applied: {@link MigrationPlan.commit} changes the data directory. */
export interface MigrationPlan extends MigrationOutcome {
  /** Removes deleted classes' data and records the new steps; nothing on disk changes before this. */
  commit(): void;
}

/**
 * Applies the migrations the data directory has not seen yet, in order, and records them
 * (`<dataDir>/migrations.json`). See {@link planMigrations}; this is the plan committed at once.
 *
 * @throws {Error} as {@link planMigrations} does.
 * @example
 * const { applied, storage } = applyMigrations(".hearth", config.migrations, config.path);
 */
export function applyMigrations(dataDir: string, steps: readonly MigrationStep[], configName: string): MigrationOutcome {
  const plan = planMigrations(dataDir, steps, configName);
  plan.commit();
  return { applied: plan.applied, warnings: plan.warnings, storage: plan.storage };
}

/**
 * Works out the migrations the data directory has not seen yet, in order, without changing it, so
 * the caller can check the classes they leave before anything is recorded. A rename keeps the data
 * where it is and points the new class at it (an agent's file name is derived from its storage name,
 * so moving files would lose them); a delete removes the class's agents and their pending schedules.
 * As wrangler does, the steps after the last applied tag the config still lists are applied; applied
 * tags no longer listed, and unapplied steps placed before that tag, are warned of (what applied steps
 * did stays; skipped steps are not run). Every step is checked before anything changes, so a refused
 * migration leaves the data as it was.
 *
 * A binding to a class the steps leave deleted is refused when the config is read (config/), not here.
 *
 * @throws {Error} when a rename's target already has agents of its own, or — no applied tag listed
 *   any more (the history replaced) — a step would delete a class that has agents, which may be newer
 *   than the deletion.
 * @example
 * const plan = planMigrations(".hearth", config.migrations, config.path);
 * const bound = bindClasses(config, exports, "src/index.ts", plan.storage);
 * plan.commit();
 */
export function planMigrations(dataDir: string, steps: readonly MigrationStep[], configName: string): MigrationPlan {
  const statePath = join(dataDir, STATE_FILE);
  const state = readState(statePath);
  const context: PlanContext = { dataDir, configName };
  // The declarative `exports` form has no history: each of its changes is applied once, by tag.
  if (steps.some((step) => step.tag.startsWith(EXPORTS_TAG_PREFIX))) {
    const done = new Set(state.applied);
    return planFresh(context, statePath, state, steps.filter((step) => !done.has(step.tag)));
  }
  const listed = new Map(steps.map((step, index) => [step.tag, index]));
  const done = new Set(state.applied);
  const last = Math.max(-1, ...state.applied.map((tag) => listed.get(tag) ?? -1));
  const warnings: string[] = [];
  const gone = state.applied.filter((tag) => !listed.has(tag));
  if (gone.length > 0) {
    warnings.push(
      `${configName}: ${tagList(gone)} applied to ${dataDir} ${gone.length === 1 ? "is" : "are"} no longer listed in migrations; ` +
        "what they did stays (migrations are append-only: add new steps at the end).",
    );
  }
  const skipped = steps.slice(0, last + 1).filter((step) => !done.has(step.tag));
  if (skipped.length > 0) {
    warnings.push(
      `${configName}: ${tagList(skipped.map((step) => step.tag))} ${skipped.length === 1 ? "comes" : "come"} before "${steps[last]!.tag}", ` +
        "which is applied: skipped, as wrangler skips them. Add new steps at the end.",
    );
  }
  const fresh = steps.slice(last + 1).filter((step) => !done.has(step.tag));
  if (state.applied.length > 0 && last < 0) context.replacedHistory = [...state.applied];
  return planFresh(context, statePath, state, fresh, warnings);
}

function tagList(tags: readonly string[]): string {
  return `migration${tags.length === 1 ? "" : "s"} ${tags.map((tag) => JSON.stringify(tag)).join(", ")}`;
}

interface PlanContext {
  dataDir: string;
  configName: string;
  /** The tags applied when none of them is listed any more: a deletion cannot be told from one already made. */
  replacedHistory?: readonly string[];
}

function planFresh(context: PlanContext, statePath: string, state: MigrationState, fresh: readonly MigrationStep[], warnings: string[] = []): MigrationPlan {
  const removed = planSteps(context, state, fresh);
  const commit = (): void => {
    for (const storage of removed) {
      rmSync(join(context.dataDir, "agents", storage), { recursive: true, force: true });
      forgetClassInDueIndex(context.dataDir, storage);
    }
    if (fresh.length > 0) writeState(statePath, state);
  };
  return { applied: fresh.map((step) => step.tag), warnings, storage: { ...state.storage }, commit };
}

/**
 * Works out what `fresh` does to `state` (updated in place) without touching the disk, failing on the
 * first step that would lose or hide data. Returns the storage directories to remove.
 */
function planSteps(context: PlanContext, state: MigrationState, fresh: readonly MigrationStep[]): string[] {
  const { dataDir, configName } = context;
  const removed = new Set<string>();
  const storageOf = (name: string): string => state.storage[name] ?? camelCaseToKebabCase(name);
  const hasData = (storage: string): boolean => !removed.has(storage) && existsSync(join(dataDir, "agents", storage));
  const point = (name: string, storage: string): void => {
    if (storage === camelCaseToKebabCase(name)) delete state.storage[name];
    else state.storage[name] = storage;
  };
  for (const step of fresh) {
    for (const { from, to } of step.renamedClasses) {
      const source = storageOf(from);
      const target = storageOf(to);
      delete state.storage[from];
      // Nothing stored under the old name: nothing to move, and the target keeps what it has.
      if (!hasData(source) || source === target) continue;
      if (hasData(target)) {
        throw new Error(
          `${configName}: migration "${step.tag}" renames ${from} to ${to}, but ${to} already has agents of its own ` +
            `(${join(dataDir, "agents", target)}). A rename's target must be a new class: remove that directory if its agents ` +
            `are not needed, or rename to another name. Nothing was changed.`,
        );
      }
      point(to, source);
    }
    for (const name of [...step.newClasses, ...step.newSqliteClasses]) {
      // A new class whose own name is where a renamed class keeps its data gets a directory of its own.
      const own = camelCaseToKebabCase(name);
      if (state.storage[name] !== undefined || !Object.values(state.storage).includes(own)) continue;
      state.storage[name] = unusedStorage(own, (candidate) => Object.values(state.storage).includes(candidate) || hasData(candidate));
    }
    for (const name of step.deletedClasses) {
      if (context.replacedHistory && hasData(storageOf(name))) {
        throw new Error(
          `${configName}: migration "${step.tag}" deletes class ${name}, but none of the migrations applied to ${dataDir} ` +
            `(${context.replacedHistory.join(", ")}) is listed any more, so its agents (${join(dataDir, "agents", storageOf(name))}) ` +
            "may be newer than this deletion. Nothing was changed: list the applied migrations again, or remove that directory yourself.",
        );
      }
      removed.add(storageOf(name));
      delete state.storage[name];
    }
    state.applied.push(step.tag);
  }
  return [...removed];
}

function unusedStorage(base: string, taken: (candidate: string) => boolean): string {
  for (let n = 2; ; n++) {
    if (!taken(`${base}-${n}`)) return `${base}-${n}`;
  }
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

