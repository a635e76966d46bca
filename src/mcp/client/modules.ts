/**
 * The official MCP SDK and the AI SDK are loaded on first use (together about 400 ms of imports),
 * so agents that never mount a server do not pay for them.
 */
type Sdk = typeof import("@modelcontextprotocol/client");
type Ai = typeof import("ai");

let loaded: { sdk: Sdk; ai: Ai } | undefined;
let loading: Promise<{ sdk: Sdk; ai: Ai }> | undefined;

/**
 * Loads both SDKs once per process.
 * @example
 * const { sdk } = await loadModules();
 */
export function loadModules(): Promise<{ sdk: Sdk; ai: Ai }> {
  if (loaded) return Promise.resolve(loaded);
  loading ??= Promise.all([import("@modelcontextprotocol/client"), import("ai")]).then(
    ([sdk, ai]) => (loaded = { sdk, ai }),
    (error: unknown) => {
      loading = undefined;
      throw error;
    },
  );
  return loading;
}

/** The SDKs, once {@link loadModules} has resolved; undefined before. */
export function loadedModules(): { sdk: Sdk; ai: Ai } | undefined {
  return loaded;
}
