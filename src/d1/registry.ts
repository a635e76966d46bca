import { D1Database, engines, type D1DatabaseOptions } from "./database.ts";

/**
 * The D1 database stored in `path`, sharing the open file with every other `D1Database` of this
 * process that names it (the same as `new D1Database({ path, ...options })`): one SQLite connection
 * and statement cache per file. Each call must be matched by a `close()`; {@link closeAllD1Databases}
 * closes them all at shutdown. Opening an open file with another durability is refused.
 * @example
 * const a = openD1Database(d1DatabasePath(".hearth", "app"));
 * const b = openD1Database(d1DatabasePath(".hearth", "app")); // same file, same connection
 * await a.exec("CREATE TABLE t (v)");
 * await b.prepare("SELECT count(*) AS n FROM t").first("n"); // 0
 * a.close();
 * b.close(); // the file is closed here
 */
export function openD1Database(path: string, options: Omit<D1DatabaseOptions, "path"> = {}): D1Database {
  return new D1Database({ ...options, path });
}

/**
 * Closes every D1 database file open in this process, whoever holds it (host shutdown, tests).
 * Objects still holding one reject further calls; new ones may open the files again.
 * @example
 * process.on("SIGTERM", () => closeAllD1Databases());
 */
export function closeAllD1Databases(): void {
  for (const engine of engines.takeAll()) engine.close();
}
