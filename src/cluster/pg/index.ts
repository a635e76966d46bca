/** The cluster's Postgres side: membership, leases, the group committer and history (docs/cluster/postgres.md). */
export { GroupCommitter, MAX_CHANGESET_BYTES, MAX_SNAPSHOT_BYTES, type CommitterStats, type GroupCommitterOptions } from "./committer.ts";
export { isConnectionError, PostgresUnreachableError } from "./errors.ts";
export { readHistory } from "./history.ts";
export { checkActorId, Leases, MAX_ACTOR_ID_LENGTH, type ClaimResult, type LeaseInfo, type LeasesOptions } from "./leases.ts";
export { Membership, type LostReason, type MembershipOptions, type NodeRow } from "./membership.ts";
export { checkout, createClusterPool, type ClusterPoolOptions } from "./pool.ts";
export { clusterTables, DEFAULT_SCHEMA, migrate, SCHEMA_VERSION, type ClusterTables, type SchemaOptions } from "./schema.ts";
