import { join } from "node:path";
import { D1CommandError, findDatabase, withDatabase, type D1CommandContext } from "./command-context.ts";
import { applyMigration, createMigrationFile, unappliedMigrations } from "./migrations.ts";
import { formatTable } from "./table.ts";

/** `hearth d1 migrations create|list|apply <db> …`. */
export async function migrationsCommand(args: string[], context: D1CommandContext): Promise<number> {
  const [action, name, ...rest] = args;
  const config = findDatabase(context, name);
  if (action === "create") {
    if (rest.length === 0) throw new D1CommandError("Give the migration a message: hearth d1 migrations create <database> <message>.");
    const file = createMigrationFile(config.migrationsDir, rest.join(" "));
    context.out(`Successfully created migration '${file}'. Edit it here:`);
    context.out(join(config.migrationsDir, file));
    return 0;
  }
  if (rest.length > 0) throw new D1CommandError(`Unexpected argument "${rest[0]}".`);
  if (action === "list") {
    return withDatabase(context, config, async (db) => {
      const pending = await unappliedMigrations(db, config.migrationsDir, config.migrationsTable);
      if (pending.length === 0) {
        context.out("No migrations to apply!");
        return 0;
      }
      context.out("Migrations to be applied:");
      for (const line of formatTable(["name"], pending.map((migration) => [migration]))) context.out(line);
      return 0;
    });
  }
  if (action === "apply") {
    return withDatabase(context, config, async (db) => {
      const pending = await unappliedMigrations(db, config.migrationsDir, config.migrationsTable);
      if (pending.length === 0) {
        context.out("No migrations to apply!");
        return 0;
      }
      context.out(`Applying ${pending.length} migration${pending.length === 1 ? "" : "s"} to ${config.databaseName}:`);
      for (const migration of pending) {
        try {
          await applyMigration(db, config.migrationsDir, config.migrationsTable, migration);
        } catch (error) {
          context.out(`✘ ${migration}`);
          context.out(`Migration ${migration} failed and was rolled back; later migrations were not applied: ${(error as Error).message}`);
          return 1;
        }
        context.out(`✔ ${migration}`);
      }
      return 0;
    });
  }
  throw new D1CommandError(`Unknown command "d1 migrations ${action ?? ""}": use create, list or apply.`);
}
