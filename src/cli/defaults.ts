/** Defaults of `hearth dev` / `hearth start`, used when neither a flag nor an environment variable is given. */
export const DEFAULTS = { port: 8787, host: "127.0.0.1", dataDir: ".hearth" } as const;

/** The optional file of Hearth-only settings, next to the wrangler config (or in the working directory). */
export const HEARTH_CONFIG_FILE = "hearth.config.ts";
