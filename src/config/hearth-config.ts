import { basename } from "node:path";
import type { AlertsConfig } from "../observability/alerts/alert-engine.ts";
import { ConfigError } from "./errors.ts";

/**
 * Hearth-only settings, in an optional typed `hearth.config.ts` next to the wrangler config.
 * Everything wrangler's config already says (bindings, vars, routes, …) stays there.
 */
export interface HearthConfig {
  /** HTTP port (default 8787, like `wrangler dev`). */
  port?: number;
  /** Interface to listen on. */
  host?: string;
  /** Where agents' and bindings' SQLite files live; relative to the project directory. */
  dataDir?: string;
  /** "strict": `synchronous = FULL` (a commit survives power loss); "relaxed": `NORMAL`. */
  durability?: "strict" | "relaxed";
  /** Port of the inbound SMTP listener (email routing). */
  smtpPort?: number;
  /** An agent idle this long is put to sleep, milliseconds. */
  hibernateAfterMs?: number;
  /** At most this many agents in memory at once. */
  maxLiveAgents?: number;
  /**
   * At most this many SQLite connections open at once in the process (divided among `--threads`);
   * by default it follows what the descriptor limit leaves after sockets (looked at every second). Idle
   * ones above it are closed until their next use.
   */
  maxOpenConnections?: number;
  /** Largest WebSocket message accepted, bytes. */
  maxMessageBytes?: number;
  /**
   * Alert rules and the webhooks they notify (docs/observability/alerts.md), loaded at every start;
   * rules added in the inspector are kept beside them.
   */
  alerts?: AlertsConfig;
}

/** The settings `hearth.config.ts` may contain. */
export const HEARTH_SETTINGS: readonly (keyof HearthConfig)[] = [
  "port",
  "host",
  "dataDir",
  "durability",
  "smtpPort",
  "hibernateAfterMs",
  "maxLiveAgents",
  "maxOpenConnections",
  "maxMessageBytes",
  "alerts",
];

/**
 * Types a `hearth.config.ts` (it returns its argument).
 *
 * @example
 * // hearth.config.ts
 * import { defineConfig } from "hearth/config";
 * export default defineConfig({ port: 8080, durability: "strict" });
 */
export function defineConfig(config: HearthConfig): HearthConfig {
  return config;
}

/**
 * Checks the default export of a `hearth.config.ts` (`path` names it in messages).
 *
 * @throws {ConfigError} for a value that is not an object, an unknown setting (bindings, vars and
 *   routes belong in wrangler's config) or a setting of the wrong type or range.
 * @example
 * const settings = validateHearthConfig((await import(url)).default, "/srv/app/hearth.config.ts");
 */
export function validateHearthConfig(value: unknown, path: string): HearthConfig {
  const file = basename(path);
  const problem = (message: string): ConfigError => new ConfigError(`${file}: ${message}`, { file: path });
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw problem(`the default export must be an object of settings: export default defineConfig({ … }) (got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value})`);
  }
  const settings = value as Record<string, unknown>;
  for (const key of Object.keys(settings)) {
    if (!(HEARTH_SETTINGS as readonly string[]).includes(key)) {
      throw problem(`unknown setting "${key}" (settings: ${HEARTH_SETTINGS.join(", ")}); bindings, vars and routes belong in wrangler's config`);
    }
  }
  const integer = (key: keyof HearthConfig, min: number, max?: number): void => {
    const item = settings[key];
    if (item === undefined) return;
    if (typeof item !== "number" || !Number.isInteger(item) || item < min || (max !== undefined && item > max)) {
      const range = max === undefined ? `of at least ${min}` : `from ${min} to ${max}`;
      throw problem(`"${key}" must be an integer ${range} (got ${JSON.stringify(item)})`);
    }
  };
  const text = (key: keyof HearthConfig): void => {
    const item = settings[key];
    if (item !== undefined && (typeof item !== "string" || item.trim() === "")) {
      throw problem(`"${key}" must be a non-empty string (got ${JSON.stringify(item)})`);
    }
  };
  integer("port", 0, 65_535);
  integer("smtpPort", 0, 65_535);
  integer("hibernateAfterMs", 0);
  integer("maxLiveAgents", 1);
  integer("maxOpenConnections", 1);
  integer("maxMessageBytes", 1);
  text("host");
  text("dataDir");
  const durability = settings.durability;
  if (durability !== undefined && durability !== "strict" && durability !== "relaxed") {
    throw problem(`"durability" must be "strict" or "relaxed" (got ${JSON.stringify(durability)})`);
  }
  const alerts = settings.alerts;
  if (alerts !== undefined) {
    const shape = alerts as { rules?: unknown; contactPoints?: unknown };
    if (typeof alerts !== "object" || alerts === null || Array.isArray(alerts) || (shape.rules !== undefined && !Array.isArray(shape.rules)) || (shape.contactPoints !== undefined && !Array.isArray(shape.contactPoints))) {
      throw problem(`"alerts" must be { rules?: [...], contactPoints?: [...] } (got ${JSON.stringify(alerts)})`);
    }
  }
  return { ...settings } as HearthConfig;
}
