/**
 * Cloudflare's D1 binding on local SQLite files, and the `hearth d1` commands.
 * @module
 */
export { D1Database, type D1DatabaseOptions } from "./database.ts";
export { D1PreparedStatement } from "./statement.ts";
export { D1DatabaseSession } from "./session.ts";
export { openD1Database, closeAllD1Databases } from "./registry.ts";
export { d1DatabasePath } from "./paths.ts";
export { D1_LIMITS } from "./limits.ts";
export { runD1Command, D1_USAGE } from "./command.ts";
export type { D1CommandContext } from "./command-context.ts";
export type { D1ErrorPrefix } from "./errors.ts";
export type { D1BoundValue, D1Value } from "./values.ts";
export type { D1ExecResult, D1Meta, D1RawOptions, D1Response, D1Result, D1SessionBookmark, D1SessionConstraint } from "./types.ts";
