/**
 * Which wrangler keys exist and how environments treat them (workers-sdk's `environment.ts`,
 * `@inheritable` / `@nonInheritable`, and `config.ts` for the top-level-only ones).
 * @module
 */

/** Top-level values flow into `env.<name>` unless the environment sets its own (`name` gets `-<env>`). */
export const INHERITABLE_KEYS: ReadonlySet<string> = new Set([
  "name", "account_id", "compatibility_date", "compatibility_flags", "main", "find_additional_modules",
  "preserve_file_names", "base_dir", "workers_dev", "preview_urls", "routes", "route", "tsconfig",
  "jsx_factory", "jsx_fragment", "migrations", "exports", "triggers", "usage_model", "limits", "rules",
  "build", "no_bundle", "minify", "keep_names", "first_party_worker", "zone_id", "logfwdr", "logpush",
  "upload_source_maps", "placement", "assets", "observability", "access", "cache", "compliance_region",
  "python_modules", "previews",
]);

/** Bindings and the like: an environment has only what it declares itself. */
export const NON_INHERITABLE_KEYS: ReadonlySet<string> = new Set([
  "define", "vars", "secrets", "durable_objects", "workflows", "cloudchamber", "containers",
  "kv_namespaces", "send_email", "queues", "connect", "r2_buckets", "d1_databases", "vectorize",
  "ai_search_namespaces", "ai_search", "websearch", "agent_memory", "hyperdrive", "services",
  "analytics_engine_datasets", "dispatch_namespaces", "mtls_certificates", "tail_consumers",
  "streaming_tail_consumers", "unsafe", "browser", "ai", "images", "stream", "media", "pipelines",
  "secrets_store_secrets", "artifacts", "unsafe_hello_world", "flagship", "worker_loaders",
  "ratelimits", "vpc_services", "vpc_networks", "version_metadata",
]);

/** Read at the top level only; inside `env.<name>` they are unknown keys. */
export const TOP_LEVEL_ONLY_KEYS: ReadonlySet<string> = new Set([
  "$schema", "env", "dev", "site", "alias", "wasm_modules", "text_blobs", "data_blobs", "send_metrics",
  "keep_vars", "addresses", "pages_build_output_dir", "dependencies_instrumentation", "legacy_env",
]);

/** Keys that change what the worker sees at run time but that Hearth does not apply: each gets a warning. */
export const IGNORED_WITH_WARNING: Readonly<Record<string, string>> = {
  define: "Hearth does not bundle the worker, so `define` replacements are not applied; read the value from a var instead",
  alias: "Hearth does not bundle the worker, so `alias` module replacements are not applied",
  site: "Workers Sites (`site`) are not served; use `assets` instead",
  wasm_modules: "service-worker globals (`wasm_modules`) are not provided; import the file from your module instead",
  text_blobs: "service-worker globals (`text_blobs`) are not provided; import the file from your module instead",
  data_blobs: "service-worker globals (`data_blobs`) are not provided; import the file from your module instead",
};

/** Whether `key` is a wrangler key at all (anything else gets an "unknown key" warning). */
export function isKnownKey(key: string): boolean {
  return INHERITABLE_KEYS.has(key) || NON_INHERITABLE_KEYS.has(key) || TOP_LEVEL_ONLY_KEYS.has(key);
}
