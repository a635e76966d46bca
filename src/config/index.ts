/**
 * Reading a Cloudflare project's configuration: the wrangler file (JSONC or TOML) resolved for one
 * environment, local vars and secrets, and the optional Hearth-only `hearth.config.ts`.
 * @module
 */
export { ConfigError, type ConfigErrorDetails } from "./errors.ts";
export { findWranglerConfig, WRANGLER_CONFIG_FILES, wranglerConfigsIn } from "./find.ts";
export { configFormatOf, parseConfigText, readConfigFile, type ConfigFormat, type ConfigSource } from "./parse.ts";
export { lineOf, whereOf } from "./locate.ts";
export { formatKeyPath, type KeyPath } from "./key-path.ts";
export { INHERITABLE_KEYS, NON_INHERITABLE_KEYS, TOP_LEVEL_ONLY_KEYS } from "./keys.ts";
export { loadProjectConfig, type LoadProjectConfigOptions } from "./load.ts";
export { D1_MIGRATIONS_TABLE, QUEUE_LIMITS, RATE_LIMIT_PERIODS } from "./storage-bindings.ts";
export { HTML_HANDLING, NOT_FOUND_HANDLING } from "./assets.ts";
export { EXPORTS_TAG_PREFIX } from "./migrations.ts";
export { UNSUPPORTED_BINDING_KINDS } from "./unsupported.ts";
export { assertRequiredSecrets, devVarsFiles, loadDevVars, missingRequiredSecrets, type DevVars, type LoadDevVarsOptions } from "./dev-vars.ts";
export { defineConfig, HEARTH_SETTINGS, validateHearthConfig, type HearthConfig } from "./hearth-config.ts";
export type * from "./types.ts";
