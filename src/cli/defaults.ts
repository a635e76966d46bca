/** Defaults of `hearth dev` / `hearth start`, used when neither a flag nor an environment variable is given. */
export const DEFAULTS = { port: 8787, host: "127.0.0.1", dataDir: ".hearth" } as const;
