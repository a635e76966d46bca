/** What a node of a Hearth cluster is started with (see ClusterNode.start). */
export interface ClusterOptions {
  /** `postgres://user@host:port/database`: the cluster's only shared engine. */
  connectionString: string;
  /** This node's id, stable across restarts (`a`, `web-1`, a hostname). */
  nodeId: string;
  /** Where the other nodes reach this one over HTTP, e.g. `http://10.0.0.5:8787`. */
  advertise: string;
  /** The Postgres schema holding the cluster's tables; default `hearth`. */
  schema?: string;
  /** A node silent for this long is dead and its agents are taken over; default 3,000 ms. */
  ttlMs?: number;
  /** How often a node renews its membership; default 1,000 ms. */
  heartbeatMs?: number;
  /** How long a forwarded request looks for a live owner (an old one dead, not yet replaced); default ttl + 2 s. */
  forwardRetryMs?: number;
  /** How often a node looks after the services every live node shares the holding of (workflow partitions); default 1,000 ms. */
  keepEveryMs?: number;
  /** How long the row of a dead or left node stays in Postgres before it is pruned; default 24 h (`NODE_RETENTION_MS`). */
  nodeRetentionMs?: number;
  /** How often a node prunes the rows of gone nodes; default 60,000 ms (`PRUNE_EVERY_MS`). */
  pruneEveryMs?: number;
  /**
   * A node gives back the lease of an agent it holds once nothing has used it, and nothing of it has
   * been in memory or connected, for one to two such periods: its next event claims it again and
   * rebuilds its file from the log. 0: keep every agent until the node stops; at most 2,147,483,647
   * (the longest timer). Default 600,000 ms (`RELEASE_IDLE_AFTER_MS`).
   */
  releaseIdleAfterMs?: number;
}

/** The membership timing given in `options` (only what was set: Membership has its own defaults). */
export function timing(options: ClusterOptions): { ttlMs?: number; heartbeatMs?: number } {
  return { ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}), ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}) };
}
