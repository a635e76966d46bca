import type { KeyPath } from "./key-path.ts";
import {
  asTable,
  checkIdentifier,
  type CheckContext,
  describeValue,
  fail,
  optionalStringArray,
  requiredString,
  tablesOf,
  warnUnknownKeys,
} from "./read.ts";
import type { DurableObjectBindingConfig, MigrationStep } from "./types.ts";

/** Tags of steps derived from `exports` start with this, so they never clash with hand-written tags. */
export const EXPORTS_TAG_PREFIX = "exports:";

/** `migrations`: the steps in order; tags required and unique (applied steps are recorded by tag). */
export function readMigrations(ctx: CheckContext, value: unknown, at: KeyPath): MigrationStep[] {
  const tags = new Set<string>();
  return tablesOf(ctx, value, at).map(({ table, at: item }) => {
    warnUnknownKeys(ctx, table, ["tag", "new_classes", "new_sqlite_classes", "renamed_classes", "deleted_classes", "transferred_classes"], item);
    const tag = requiredString(ctx, table, "tag", item);
    if (tags.has(tag)) fail(ctx, [...item, "tag"], `"${tag}" is already the tag of an earlier migration (tags are unique)`);
    tags.add(tag);
    const classes = (key: string): string[] => {
      const names = optionalStringArray(ctx, table, key, item) ?? [];
      names.forEach((name, index) => checkIdentifier(ctx, name, [...item, key, index], "class name"));
      return names;
    };
    const transferredIn = transfers(ctx, table.transferred_classes, [...item, "transferred_classes"]);
    if (transferredIn.length > 0) {
      ctx.warnings.push(
        `${ctx.source.fileName}: migration "${tag}": transferred_classes bring ${transferredIn.join(", ")} from another worker; ` +
          `Hearth creates ${transferredIn.length === 1 ? "it" : "them"} empty (no other worker's data can arrive)`,
      );
    }
    return {
      tag,
      // A transfer's target is a live class of this worker from then on (on Cloudflare it must be
      // exported), so it counts as created, as an `expecting-transfer` export does.
      newClasses: [...classes("new_classes"), ...transferredIn],
      newSqliteClasses: classes("new_sqlite_classes"),
      renamedClasses: renames(ctx, table.renamed_classes, [...item, "renamed_classes"]),
      deletedClasses: classes("deleted_classes"),
    };
  });
}

/** `transferred_classes` (`{ from, from_script, to }`): the classes of this worker they bring in (`to`). */
function transfers(ctx: CheckContext, value: unknown, at: KeyPath): string[] {
  if (value === undefined) return [];
  return tablesOf(ctx, value, at).map(({ table, at: item }) => {
    warnUnknownKeys(ctx, table, ["from", "from_script", "to"], item);
    const from = requiredString(ctx, table, "from", item);
    requiredString(ctx, table, "from_script", item);
    const to = requiredString(ctx, table, "to", item);
    checkIdentifier(ctx, from, [...item, "from"], "class name");
    checkIdentifier(ctx, to, [...item, "to"], "class name");
    return to;
  });
}

function renames(ctx: CheckContext, value: unknown, at: KeyPath): { from: string; to: string }[] {
  if (value === undefined) return [];
  return tablesOf(ctx, value, at).map(({ table, at: item }) => {
    warnUnknownKeys(ctx, table, ["from", "to"], item);
    const from = requiredString(ctx, table, "from", item);
    const to = requiredString(ctx, table, "to", item);
    checkIdentifier(ctx, from, [...item, "from"], "class name");
    checkIdentifier(ctx, to, [...item, "to"], "class name");
    return { from, to };
  });
}

/**
 * Refuses a `durable_objects.bindings[]` entry whose class the migrations renamed away or deleted
 * (and did not bring back: created again, or the target of a later rename or transfer), as
 * Cloudflare does: a renamed class's old name would otherwise reach the storage its new name now
 * holds (two live classes on one store). Classes no migration names are left alone. Only the state
 * after the last step counts; this is the one check of bound classes against the migrations (the
 * migration plan at start-up does not check bindings again).
 */
export function checkBoundClassesLive(
  ctx: CheckContext,
  bindings: readonly DurableObjectBindingConfig[],
  steps: readonly MigrationStep[],
  at: KeyPath,
): void {
  const gone = new Map<string, { step: MigrationStep; renamedTo?: string }>();
  for (const step of steps) {
    for (const { from, to } of step.renamedClasses) {
      gone.set(from, { step, renamedTo: to });
      gone.delete(to);
    }
    for (const name of [...step.newClasses, ...step.newSqliteClasses]) gone.delete(name);
    for (const name of step.deletedClasses) gone.set(name, { step });
  }
  bindings.forEach((binding, index) => {
    const fate = gone.get(binding.className);
    if (fate === undefined || binding.scriptName !== undefined) return;
    const by = fate.step.tag.startsWith(EXPORTS_TAG_PREFIX) ? `exports.${binding.className}` : `migration "${fate.step.tag}"`;
    const what = fate.renamedTo === undefined ? `deleted by ${by}: remove the binding` : `renamed to ${fate.renamedTo} by ${by}: bind ${fate.renamedTo} instead`;
    fail(
      ctx,
      [...at, "bindings", index, "class_name"],
      `"${binding.className}" of binding ${binding.name} was ${what} (a class a migration renamed away or deleted cannot be bound)`,
    );
  });
}

type ExportState = "created" | "deleted" | "renamed" | "transferred" | "expecting-transfer";
const EXPORT_STATES: readonly ExportState[] = ["created", "deleted", "renamed", "transferred", "expecting-transfer"];

/**
 * The declarative `exports` form as migration steps, one per change, each tagged after the change
 * (`exports:rename:Old:New`) so a step is applied once however often the file is read, and a
 * change added later is still applied. Order: renames, then creations, then deletions. These steps
 * declare a state rather than a history, so the applier must take them as idempotent: a rename
 * whose source has no data moves nothing, and creating a class that exists (a rename's target)
 * changes nothing. `transferred` entries (the class moved to another worker) are ignored with a
 * warning; `expecting-transfer` entries create the class empty, with a warning.
 */
export function readExports(ctx: CheckContext, value: unknown, at: KeyPath): MigrationStep[] {
  const exportsTable = asTable(ctx, value, at);
  const renamed: { from: string; to: string }[] = [];
  const created: { name: string; sqlite: boolean }[] = [];
  const deleted: string[] = [];
  const live = new Set<string>();
  const renameAt = new Map<string, KeyPath>();

  for (const [className, entryValue] of Object.entries(exportsTable)) {
    const item = [...at, className];
    const entry = asTable(ctx, entryValue, item);
    if (entry.type !== "durable-object") continue; // other export kinds (workers, containers) are not Durable Objects
    checkIdentifier(ctx, className, item, "class name");
    warnUnknownKeys(ctx, entry, ["type", "state", "storage", "renamed_to", "transferred_to", "transfer_from", "container"], item);
    const state = entry.state ?? "created";
    if (typeof state !== "string" || !(EXPORT_STATES as readonly string[]).includes(state)) {
      fail(ctx, [...item, "state"], `must be one of ${EXPORT_STATES.map((s) => `"${s}"`).join(", ")} (got ${describeValue(state)})`);
    }
    switch (state as ExportState) {
      case "created":
      case "expecting-transfer": {
        const storage = entry.storage;
        if (storage !== "sqlite" && storage !== "legacy-kv") {
          fail(ctx, [...item, "storage"], storage === undefined ? 'is required ("sqlite" or "legacy-kv")' : `must be "sqlite" or "legacy-kv" (got ${describeValue(storage)})`);
        }
        if (state === "expecting-transfer") {
          ctx.warnings.push(`${ctx.source.fileName}: exports.${className} expects a transfer from another worker; Hearth creates it empty`);
        }
        live.add(className);
        created.push({ name: className, sqlite: storage === "sqlite" });
        break;
      }
      case "renamed": {
        const to = requiredString(ctx, entry, "renamed_to", item);
        renamed.push({ from: className, to });
        renameAt.set(to, [...item, "renamed_to"]);
        break;
      }
      case "deleted":
        deleted.push(className);
        break;
      case "transferred":
        ctx.warnings.push(`${ctx.source.fileName}: exports.${className} was transferred to another worker; Hearth ignores it`);
        break;
    }
  }

  for (const { to } of renamed) {
    if (!live.has(to)) fail(ctx, renameAt.get(to) ?? at, `names "${to}", which must also be a live durable-object entry in exports`);
  }
  const steps: MigrationStep[] = [];
  const step = (tag: string, change: Partial<MigrationStep>): void => {
    steps.push({ tag: `${EXPORTS_TAG_PREFIX}${tag}`, newClasses: [], newSqliteClasses: [], renamedClasses: [], deletedClasses: [], ...change });
  };
  for (const rename of renamed) step(`rename:${rename.from}:${rename.to}`, { renamedClasses: [rename] });
  for (const { name, sqlite } of created) step(`create:${name}`, sqlite ? { newSqliteClasses: [name] } : { newClasses: [name] });
  for (const name of deleted) step(`delete:${name}`, { deletedClasses: [name] });
  return steps;
}
