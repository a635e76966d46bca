import { join } from "node:path";

/** D1 database names that make safe file names: letters, digits, `_`, `-`, `.` (not first), ≤ 100 characters. */
const SAFE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$/;

/**
 * Where a D1 database lives: `<dataDir>/d1/<databaseName>.sqlite`.
 * @throws when the name could escape the directory or is not a plain file name.
 * @example
 * d1DatabasePath(".hearth", "app-db"); // ".hearth/d1/app-db.sqlite"
 */
export function d1DatabasePath(dataDir: string, databaseName: string): string {
  if (typeof databaseName !== "string" || !SAFE_NAME.test(databaseName) || databaseName.includes("..")) {
    throw new Error(
      `D1 database name ${JSON.stringify(databaseName)} cannot be used as a file name: use letters, digits, "_", "-" ` +
        `and "." (not first, no ".."), at most 100 characters (database_name in the wrangler config, else the binding name)`,
    );
  }
  return join(dataDir, "d1", `${databaseName}.sqlite`);
}
