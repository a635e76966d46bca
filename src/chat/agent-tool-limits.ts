/**
 * The limits of agent tools, each documented in docs/teams/agent-tools.md and named by the error
 * that enforces it.
 */
export const AGENT_TOOL_LIMITS = {
  /** Characters of a run's default input preview (Cloudflare's value). */
  inputPreviewChars: 500,
  /** Longest facet name (`<class>:<runId>`): a run id must fit it with its class name. */
  maxFacetNameLength: 256,
  /** Chunks one pull of a child run returns at most; the parent pulls again for the rest. */
  pullBatchChunks: 1_000,
  /** How long one pull waits for a new chunk before it answers empty (the parent then pulls again). */
  pullWaitMs: 25_000,
  /** The longest pull wait a caller may ask for. */
  maxPullWaitMs: 60_000,
} as const;
